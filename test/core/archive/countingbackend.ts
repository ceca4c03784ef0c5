import type { IByteRange, IGetResult, IStorageBackend } from '../../../ts/core/storage/interfaces.storage.js';

/** A real backend underneath, recording every get (how many bytes each asked storage for) and counting stats. */
export class CountingBackend implements IStorageBackend {
  readonly reads: { key: string; range?: IByteRange; length: number }[] = [];
  stats = 0;

  constructor(private readonly inner: IStorageBackend) {}

  get bytesRead(): number {
    return this.reads.reduce((sum, read) => sum + read.length, 0);
  }

  reset(): void {
    this.reads.length = 0;
    this.stats = 0;
  }

  async get(key: string, range?: IByteRange): Promise<IGetResult | null> {
    const result = await this.inner.get(key, range);
    if (result) this.reads.push({ key, range, length: result.length });
    return result;
  }

  init = () => this.inner.init();
  put: IStorageBackend['put'] = (key, body, options) => this.inner.put(key, body, options);
  stat: IStorageBackend['stat'] = (key) => {
    this.stats++;
    return this.inner.stat(key);
  };
  delete: IStorageBackend['delete'] = (key, options) => this.inner.delete(key, options);
  list: IStorageBackend['list'] = (prefix, options) => this.inner.list(prefix, options);
  copy: IStorageBackend['copy'] = (source, target) => this.inner.copy(source, target);
  destroy = () => this.inner.destroy();
}
