import type { RegistryStorage } from './classes.registrystorage.js';
import { reportPaths } from './storage.paths.js';

export interface IStorageUsage {
  bytes: number;
  objects: number;
}

export interface IProtocolUsage extends IStorageUsage {
  /** Per package, image repository, crate, project or Maven `group:artifact` (and parenthesised shared parts). */
  packages: Record<string, IStorageUsage>;
}

export interface IStorageReport {
  /** ISO 8601: when the listing started. */
  generatedAt: string;
  total: IStorageUsage;
  /** Per protocol; `core` holds users, tokens and probes. */
  protocols: Record<string, IProtocolUsage>;
}

export interface IStorageReportOptions {
  /** Only these protocols' trees (default: the whole bucket). */
  protocols?: string[];
  /** Told after each listed page, with the objects counted so far (progress for long listings). */
  onProgress?: (objects: number) => void;
}

const PROGRESS_EVERY = 1000;

/**
 * Bytes and object counts per protocol and per package, from storage listings alone: the listing is read
 * page by page and folded into running totals, so memory grows with the number of packages, never with the
 * number of objects, and no object is read. OCI blobs are content-addressed and shared by repositories,
 * so they are counted once, under `(blobs, shared by repositories)`, not per repository.
 */
export async function buildStorageReport(storage: RegistryStorage, options: IStorageReportOptions = {}): Promise<IStorageReport> {
  const report: IStorageReport = { generatedAt: new Date().toISOString(), total: { bytes: 0, objects: 0 }, protocols: {} };
  const prefixes = options.protocols ? options.protocols.map(reportPaths.protocolPrefix) : [''];
  for (const prefix of prefixes) {
    for await (const object of storage.listAll(prefix)) {
      const { protocol, owner } = reportPaths.ownerOf(object.key);
      const protocolUsage = (report.protocols[protocol] ??= { bytes: 0, objects: 0, packages: {} });
      const packageUsage = (protocolUsage.packages[owner] ??= { bytes: 0, objects: 0 });
      for (const usage of [report.total, protocolUsage, packageUsage]) {
        usage.bytes += object.size;
        usage.objects += 1;
      }
      if (options.onProgress && report.total.objects % PROGRESS_EVERY === 0) options.onProgress(report.total.objects);
    }
  }
  return report;
}
