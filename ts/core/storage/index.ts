import type { IStorageConfig } from '../interfaces.core.js';
import { FilesystemBackend } from './classes.filesystembackend.js';
import type { IStorageBackend } from './interfaces.storage.js';

export { FilesystemBackend } from './classes.filesystembackend.js';
// Type only: the S3 backend pulls in the AWS SDK (~23 MiB of RSS), loaded when S3 is configured.
export type { S3Backend } from './classes.s3backend.js';
export { assertValidKey, assertValidPrefix } from './helpers.key.js';
export type * from './interfaces.storage.js';

/**
 * `type: 'filesystem'` stores under a local directory; anything else is an S3 descriptor. Async
 * because the S3 backend, and with it the AWS SDK, is imported only when it is asked for.
 */
export async function createStorageBackend(config: IStorageConfig): Promise<IStorageBackend> {
  if (config.type === 'filesystem') return new FilesystemBackend(config.path);
  const { S3Backend } = await import('./classes.s3backend.js');
  return new S3Backend(config);
}
