import { RegistryStorage } from '../core/classes.registrystorage.js';
import { buildStorageReport, type IStorageReport } from '../core/classes.storagereport.js';
import { createStorageBackend } from '../core/storage/index.js';
import type { ICliOptions } from './args.js';
import { storageConfigOf } from './config.js';
import type { TWriteLine } from './serve.js';

const largestFirst = <T extends { bytes: number }>(entries: [string, T][]) => entries.sort((a, b) => b[1].bytes - a[1].bytes || (a[0] < b[0] ? -1 : 1));

/** `smartregistry report`: the storage report of the configured storage, read by listing only. */
export async function runReportCommand(options: ICliOptions, write: TWriteLine): Promise<void> {
  const storage = new RegistryStorage(await createStorageBackend(storageConfigOf(options)));
  await storage.init();
  let report: IStorageReport;
  try {
    report = await buildStorageReport(storage, { protocols: options.report?.protocols });
  } finally {
    await storage.destroy();
  }
  if (options.report?.json) {
    write(JSON.stringify(report, null, 2));
    return;
  }
  const top = options.report?.top ?? 10;
  write(`# storage report of ${report.generatedAt}: bytes and objects, largest first`);
  write(`total ${report.total.bytes} ${report.total.objects}`);
  for (const [protocol, usage] of largestFirst(Object.entries(report.protocols))) {
    write(`protocol ${protocol} ${usage.bytes} ${usage.objects}`);
    const packages = largestFirst(Object.entries(usage.packages));
    for (const [name, each] of packages.slice(0, top)) write(`package ${protocol} ${each.bytes} ${each.objects} ${name}`);
    if (packages.length > top) write(`# ${protocol}: ${packages.length - top} more (--top, --json)`);
  }
}
