import type { Readable } from 'node:stream';
import { isPreconditionFailed } from '../classes.registryerror.js';
import type {
  IByteRange,
  IDeleteOptions,
  IGetResult,
  IListOptions,
  IListResult,
  IObjectInfo,
  IPresignOptions,
  IPutOptions,
  IPutResult,
  IStorageBackend,
} from './interfaces.storage.js';

export type TStorageOperation = 'get' | 'put' | 'stat' | 'delete' | 'list' | 'copy';
/** `conflict`: a conditional write or delete whose condition did not hold, which is how concurrency is handled, not a fault. */
export type TStorageResult = 'ok' | 'conflict' | 'error';

export interface IStorageMetrics {
  operation(backend: string, operation: TStorageOperation, result: TStorageResult, seconds: number): void;
}

/**
 * A backend that reports every operation's result and duration, and otherwise is the backend it wraps.
 * A get is timed until its stream is ready (the first byte), a put until the object is stored.
 */
export class InstrumentedBackend implements IStorageBackend {
  /** Present exactly when the wrapped backend can presign (signing is local: not an operation to time). */
  readonly presignGet?: (key: string, options: IPresignOptions) => Promise<string>;
  /** Not timed: a walk of many reads, not one operation. */
  readonly listKeys?: (prefix: string) => AsyncIterable<string>;

  constructor(
    private readonly backend: IStorageBackend,
    private readonly name: string,
    private readonly metrics: IStorageMetrics,
  ) {
    if (backend.presignGet) this.presignGet = (key, options) => backend.presignGet!(key, options);
    if (backend.listKeys) this.listKeys = (prefix) => backend.listKeys!(prefix);
  }

  init(): Promise<void> {
    return this.backend.init();
  }

  destroy(): Promise<void> {
    return this.backend.destroy();
  }

  get(key: string, range?: IByteRange): Promise<IGetResult | null> {
    return this.timed('get', this.backend.get(key, range));
  }

  put(key: string, body: Readable | Uint8Array, options?: IPutOptions): Promise<IPutResult> {
    return this.timed('put', this.backend.put(key, body, options));
  }

  stat(key: string): Promise<IObjectInfo | null> {
    return this.timed('stat', this.backend.stat(key));
  }

  delete(key: string, options?: IDeleteOptions): Promise<void> {
    return this.timed('delete', this.backend.delete(key, options));
  }

  list(prefix: string, options?: IListOptions): Promise<IListResult> {
    return this.timed('list', this.backend.list(prefix, options));
  }

  copy(sourceKey: string, targetKey: string): Promise<void> {
    return this.timed('copy', this.backend.copy(sourceKey, targetKey));
  }

  private async timed<T>(operation: TStorageOperation, work: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await work;
      this.metrics.operation(this.name, operation, 'ok', (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.metrics.operation(this.name, operation, isPreconditionFailed(error) ? 'conflict' : 'error', (performance.now() - started) / 1000);
      throw error;
    }
  }
}
