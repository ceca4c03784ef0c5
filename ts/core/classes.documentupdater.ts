import { setTimeout as sleep } from 'node:timers/promises';
import { BoundedCache } from './classes.boundedcache.js';
import type { CacheBudget } from './classes.cachebudget.js';
import { RegistryError, isPreconditionFailed } from './classes.registryerror.js';
import { keyCause } from './storage/helpers.key.js';
import { parseStored, parseStoredJson } from './helpers.storeddocument.js';
import type { IStorageOperationContext } from './interfaces.core.js';
import type { IDeleteOptions, IObjectInfo, IPutOptions, IPutResult } from './storage/interfaces.storage.js';

/** What the updater needs of RegistryStorage (which hands itself in): reads, and writes and deletes on conditions. */
export interface IDocumentStorage {
  stat(key: string): Promise<IObjectInfo | null>;
  getBytes(key: string): Promise<{ bytes: Buffer; etag: string } | null>;
  putObject(key: string, body: Uint8Array, ctx: IStorageOperationContext, options?: IPutOptions): Promise<IPutResult>;
  deleteObject(key: string, ctx: IStorageOperationContext, conditions?: IDeleteOptions): Promise<void>;
}

/** Returned by a mutator to leave the document as it is. */
export const UNCHANGED = Symbol('unchanged');
/** Returned by a mutator to delete the document. */
export const DELETE = Symbol('delete');

/**
 * Writers racing on one document win one at a time: with dozens at once (60 publishes of one package from three
 * instances) a writer may lose many rounds, so it backs off exponentially, with full jitter to spread the next
 * round, for about twenty seconds in all before it gives up.
 */
const MAX_ATTEMPTS = 100;
const BACKOFF_BASE_MS = 4;
const BACKOFF_CAP_MS = 400;
/** Largest document whose last written state is remembered (by etag) to skip reading it back. */
const MAX_REMEMBERED_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** A new document given as its bytes, with the (smaller) value to hand to the next mutator. */
export class SerializedDocument<T> {
  constructor(
    readonly value: T,
    readonly bytes: Buffer,
  ) {}
}

type TMutation<T> = T | SerializedDocument<T> | typeof UNCHANGED | typeof DELETE;
export type TDocumentMutator<T> = (current: T | null) => TMutation<T> | Promise<TMutation<T>>;

export interface IDocumentUpdateOptions<T> {
  /**
   * Work that must be finished before the document is written (a tarball upload). It runs while the
   * current document is read and changed and its new bytes are taken in by storage (`IPutOptions.after`);
   * if it fails, nothing is written.
   */
  prerequisite?: Promise<unknown>;
  /** Reads a stored document; default JSON.parse. Whatever it returns is what mutators get; what it throws is a corrupt document. */
  parse?: (bytes: Buffer) => T;
  /**
   * Remember the written value to skip reading it back next time (default true). Off for documents
   * whose user keeps its own compact copy (search shards): holding them parsed as well would double
   * their memory.
   */
  remember?: boolean;
  /**
   * The document as the caller keeps it itself (a compact copy of what it last read or wrote) with that
   * version's etag, when it has one: changed like a remembered document, without a read (the conditional
   * write refuses it if it is stale).
   */
  recall?: () => { value: T; etag: string } | undefined;
}

export interface IDocumentUpdateResult<T> {
  value: T | null;
  /** Etag of the document as this update left it (null: deleted or absent). */
  etag: string | null;
  changed: boolean;
  /**
   * It wrote over the document as it first found it (remembered or read), conditional on that version's etag: nobody
   * had changed or removed it in between. False when nothing was written, when it created the document, and when it
   * wrote on what it read again after a conflict.
   */
  overwroteFound: boolean;
}


/**
 * The one read-modify-write of JSON documents (behind `RegistryStorage.updateJson` and
 * `updateDocument`): read with etag, change, write only if nobody wrote in between, retry otherwise,
 * so two instances updating at once both land. On top of that, for hot documents such as packuments:
 *
 * - the etag of the written document is returned, so derived documents can be checked against it
 *   with a `stat` instead of reading the document back;
 * - the state this instance last wrote is remembered and changed without reading or even a `stat`:
 *   the write is conditional on the remembered etag, so when another writer came in between it is
 *   refused and the update starts again from the stored document. Storage stays the truth: a mutator
 *   that refuses the change (throws) or leaves it unchanged on the remembered state is only believed
 *   once a `stat` shows that state is still the stored one;
 * - the document is read, changed and handed to storage while its prerequisite (a tarball upload) is
 *   still being stored; it becomes visible only after the prerequisite.
 *
 * The mutator must not keep references to the value: the object it is given may be the remembered
 * one and is changed in place.
 */
export class DocumentUpdater {
  private readonly lastWritten: BoundedCache<{ etag: string; value: unknown; size: number }>;

  constructor(
    private readonly storage: IDocumentStorage,
    budget: CacheBudget,
  ) {
    this.lastWritten = new BoundedCache({ maxEntries: 100_000, maxEntryBytes: MAX_REMEMBERED_DOCUMENT_BYTES, budget, sizeOf: (written) => written.size });
  }

  async update<T>(
    key: string,
    ctx: IStorageOperationContext,
    mutate: TDocumentMutator<T>,
    options: IDocumentUpdateOptions<T> = {},
  ): Promise<IDocumentUpdateResult<T>> {
    let prerequisite = options.prerequisite;
    // Awaited below; until then a failure of it (while the document is still being read) is not "unhandled".
    prerequisite?.catch(() => undefined);
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const current = await this.read<T>(key, attempt === 0, options);
        let next: TMutation<T>;
        try {
          next = await mutate(current ? current.value : null);
        } catch (error) {
          if (current?.remembered && !(await this.stillStored(key, current.etag))) continue;
          throw error;
        }
        if (next === UNCHANGED && current?.remembered && !(await this.stillStored(key, current.etag))) continue;
        // A write waits for the prerequisite inside the put (the document's bytes are taken in meanwhile).
        if (prerequisite && (next === UNCHANGED || next === DELETE)) {
          await prerequisite;
          prerequisite = undefined;
        }
        if (next === UNCHANGED) {
          if (current && options.remember !== false) this.remember(key, current.etag, current.value, current.size);
          return { value: current ? current.value : null, etag: current ? current.etag : null, changed: false, overwroteFound: false };
        }
        if (next === DELETE) {
          if (!current) return { value: null, etag: null, changed: false, overwroteFound: false };
          try {
            await this.storage.deleteObject(key, ctx, { ifMatch: current.etag });
            return { value: null, etag: null, changed: true, overwroteFound: false };
          } catch (error) {
            if (!isPreconditionFailed(error)) throw error;
          }
        } else {
          const value = next instanceof SerializedDocument ? next.value : next;
          const bytes = next instanceof SerializedDocument ? next.bytes : Buffer.from(JSON.stringify(next), 'utf8');
          const condition: IPutOptions = current ? { ifMatch: current.etag } : { ifNoneMatch: '*' };
          try {
            const put = await this.storage.putObject(key, bytes, ctx, prerequisite ? { ...condition, after: prerequisite } : condition);
            if (options.remember !== false) this.remember(key, put.etag, value, bytes.length);
            return { value, etag: put.etag, changed: true, overwroteFound: attempt === 0 && current !== null };
          } catch (error) {
            // A failed prerequisite is the failure to report (its own error may even be a precondition-failed).
            await prerequisite;
            prerequisite = undefined;
            if (!isPreconditionFailed(error)) throw error;
          }
        }
        // Someone else wrote first: back off, and try again on fresh data.
        await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
      }
      throw RegistryError.conflict('too many concurrent updates of this document, try again', { cause: keyCause(key) });
    } catch (error) {
      // A failed read or mutation must not leave the work it was given (a tarball upload) unobserved.
      await prerequisite?.catch(() => undefined);
      throw error;
    }
  }

  /**
   * The value this instance last wrote to `key`, while it remembers it; not checked against storage (another
   * instance may have written since). For early refusals that the update itself confirms. Read only: it may be
   * the very object the next update changes in place.
   */
  lastWrittenValue<T>(key: string): T | undefined {
    return this.lastWritten.get(key)?.value as T | undefined;
  }

  /** Forget what this instance knows about a document (after changing it some other way). */
  forget(key: string): void {
    this.lastWritten.delete(key);
  }

  /**
   * The document to change: the state this instance last wrote (`remembered`: not checked against
   * storage, the conditional write checks it), else as stored.
   */
  private async read<T>(
    key: string,
    mayUseRemembered: boolean,
    { parse, recall }: IDocumentUpdateOptions<T>,
  ): Promise<{ value: T; etag: string; size: number; remembered?: true } | null> {
    // Taken out while it is changed; remembered again only once a write succeeded.
    const written = this.lastWritten.take(key);
    if (written && mayUseRemembered) return { value: written.value as T, etag: written.etag, size: written.size, remembered: true };
    const recalled = mayUseRemembered ? recall?.() : undefined;
    if (recalled) return { value: recalled.value, etag: recalled.etag, size: 0, remembered: true };
    const stored = await this.storage.getBytes(key);
    if (!stored) return null;
    // Damaged bytes are an error, never "no document": a write on top would replace what they held.
    const value = parse ? parseStored(key, stored.bytes, parse) : parseStoredJson<T>(key, stored.bytes);
    return { value, etag: stored.etag, size: stored.bytes.length };
  }

  private async stillStored(key: string, etag: string): Promise<boolean> {
    return (await this.storage.stat(key))?.etag === etag;
  }

  private remember(key: string, etag: string, value: unknown, size: number) {
    // Without an etag from the write there is nothing safe to compare later reads against.
    if (etag) this.lastWritten.set(key, { etag, value, size });
    else this.lastWritten.delete(key);
  }
}
