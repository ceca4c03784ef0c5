import type { IStorageConfig } from '../interfaces.core.js';
import { FilesystemBackend } from './classes.filesystembackend.js';
import { S3Backend } from './classes.s3backend.js';
import type { IStorageBackend } from './interfaces.storage.js';

export { FilesystemBackend } from './classes.filesystembackend.js';
export { S3Backend } from './classes.s3backend.js';
export { assertValidKey, assertValidPrefix } from './helpers.key.js';
export type * from './interfaces.storage.js';

/** `type: 'filesystem'` stores under a local directory; anything else is an S3 descriptor. */
export function createStorageBackend(config: IStorageConfig): IStorageBackend {
  return config.type === 'filesystem' ? new FilesystemBackend(config.path) : new S3Backend(config);
}
