import { SmartRegistry } from '../classes.smartregistry.js';
import type { OciRegistry } from '../oci/classes.ociregistry.js';
import type { ICliOptions } from './args.js';
import { buildRegistryConfig } from './config.js';
import type { TWriteLine } from './serve.js';

/** `smartregistry gc`: one OCI garbage collection of the configured storage (safe while `serve` runs on it). */
export async function runGcCommand(options: ICliOptions, write: TWriteLine): Promise<void> {
  const config = buildRegistryConfig(options);
  const registry = new SmartRegistry({ storage: config.storage, auth: config.auth, logging: config.logging, oci: config.oci });
  await registry.init();
  try {
    const report = await (registry.getRegistry('oci') as OciRegistry).collectGarbage({ dryRun: options.gc?.dryRun });
    if (options.gc?.json) {
      write(JSON.stringify(report, null, 2));
      return;
    }
    write(`# oci garbage collection${report.dryRun ? ' (dry run: nothing deleted)' : ''} of ${report.startedAt}, ${report.durationMs} ms`);
    for (const tag of report.tags) write(`tag ${tag.repository} ${tag.tag} ${tag.digest}`);
    for (const manifest of report.manifests) write(`manifest ${manifest.repository} ${manifest.digest} ${manifest.size}`);
    for (const link of report.links) write(`link ${link.repository} ${link.digest}`);
    for (const blob of report.blobs) write(`blob ${blob.digest} ${blob.size}`);
    for (const upload of report.uploads) write(`upload ${upload.uuid} ${upload.repository} ${upload.size}`);
    for (const part of report.parts) write(`part ${part.key} ${part.size}`);
    write(`reclaimed ${report.bytesReclaimed}`);
  } finally {
    await registry.destroy();
  }
}
