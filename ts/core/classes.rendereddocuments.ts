import { BoundedCache } from './classes.boundedcache.js';
import type { CacheBudget } from './classes.cachebudget.js';
import { keptServedObject, type IServedObject } from './helpers.serve.js';
import type { IBufferedObject } from './helpers.storedsource.js';

/**
 * Documents rendered from a stored one (Composer's p2 file under a base URL, PyPI's simple page in each form),
 * kept with their bytes and served object while the stored version they came from is the one served: a GET of
 * one renders nothing and builds no headers (keptServedObject), and its gzip form is found by the bytes' identity
 * (helpers.contentcoding). Bounded, and on the shared budget: a key may hold a base URL taken from the Host header.
 */
export class RenderedDocuments {
  private readonly kept: BoundedCache<{ source: string; rendered: IBufferedObject }>;

  constructor(budget: CacheBudget, maxEntries = 10_000) {
    this.kept = new BoundedCache({ maxEntries, budget, sizeOf: (entry) => entry.rendered.bytes.length });
  }

  /** What is kept under `key`, when it was rendered from `source` (the stored document's etag). */
  get(key: string, source: string): IBufferedObject | undefined {
    const entry = this.kept.get(key);
    return entry?.source === source ? entry.rendered : undefined;
  }

  /** `bytes`, rendered from `source`, kept under `key` with `object` (which becomes a kept served object). */
  keep(key: string, source: string, object: IServedObject, bytes: Buffer): IBufferedObject {
    const rendered = { object: keptServedObject(object), bytes };
    this.kept.set(key, { source, rendered });
    return rendered;
  }
}
