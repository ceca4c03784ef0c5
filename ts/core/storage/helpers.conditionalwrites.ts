import { RegistryError, isPreconditionFailed } from '../classes.registryerror.js';
import { ConditionalWritesUnsupportedError } from './helpers.s3errors.js';
import { keyCause } from './helpers.key.js';
import type { IDeleteOptions, IObjectInfo, IPutOptions, IStorageBackend, TPutCondition } from './interfaces.storage.js';

/** An etag no object has: S3 etags are quoted hex digests. */
const WRONG_ETAG = '"00000000000000000000000000000000"';

/**
 * Whether the storage enforces If-None-Match and If-Match on writes: undefined when it does, otherwise what it
 * did instead. Writes `key` three times and removes it again.
 */
export async function probeConditionalWrites(storage: Pick<IStorageBackend, 'put' | 'delete'>, key: string): Promise<string | undefined> {
  const refused = (write: Promise<unknown>) =>
    write.then(
      () => false,
      (error: unknown) => {
        if (isPreconditionFailed(error)) return true;
        throw error;
      },
    );
  try {
    await storage.put(key, Buffer.from('conditional-write probe 1'), { ifNoneMatch: '*' });
    if (!(await refused(storage.put(key, Buffer.from('conditional-write probe 2'), { ifNoneMatch: '*' })))) {
      return 'a second write with If-None-Match: * replaced the object';
    }
    if (!(await refused(storage.put(key, Buffer.from('conditional-write probe 3'), { ifMatch: WRONG_ETAG })))) {
      return 'a write with a wrong If-Match etag replaced the object';
    }
    return undefined;
  } catch (error) {
    if (error instanceof ConditionalWritesUnsupportedError) return 'it answers them with 501 NotImplemented';
    throw error;
  } finally {
    await storage.delete(key).catch(() => undefined);
  }
}

/** The check a server that ignores conditions would have made: precondition-failed unless the condition holds. */
export function checkCondition(key: string, current: IObjectInfo | null, condition: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'> & IDeleteOptions): void {
  const holds =
    (condition.ifNoneMatch === undefined || current === null) && (condition.ifMatch === undefined || current?.etag === condition.ifMatch);
  if (!holds) throw new RegistryError('precondition-failed', 'the object was changed by someone else', { cause: keyCause(key) });
}

/**
 * A conditional write with `options`' conditions, and once more, with the same bytes, when a create-once write
 * found an object and `options.onExisting` says under which condition to write over it.
 */
export async function writeOverLeftOver<R>(
  options: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch' | 'onExisting'>,
  write: (condition: Pick<IPutOptions, 'ifMatch' | 'ifNoneMatch'>) => Promise<R>,
): Promise<R> {
  try {
    return await write(options);
  } catch (error) {
    if (!isPreconditionFailed(error) || options.ifNoneMatch === undefined || !options.onExisting) throw error;
    const condition: TPutCondition = await options.onExisting();
    return write(condition);
  }
}
