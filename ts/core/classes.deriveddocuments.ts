import { setImmediate } from 'node:timers/promises';
import { BoundedCache } from './classes.boundedcache.js';
import { serializeGrowing } from './helpers.json.js';
import { writeUnlessDeletedMeanwhile } from './helpers.latewrite.js';
import { parseStored } from './helpers.storeddocument.js';
import type { Logger } from './classes.logger.js';
import {
  DELETE,
  SerializedDocument,
  UNCHANGED,
  type IStorageOperationContext,
  type RegistryStorage,
  type TDocumentMutator,
} from './classes.registrystorage.js';

/**
 * The truth document of a package (npm's packument; later a PyPI project, a crate's versions …).
 * Its revision is `{n}-{id}`: `n` orders revisions (it only grows, also across deletion and
 * re-creation), the whole string tells two revisions apart.
 */
export interface ITruthSpec<T> {
  key(name: string): string;
  revision(value: T): string;
  /** The revision recorded in stored bytes of the truth. */
  revisionOfBytes(bytes: Buffer): string | null;
  serialize(value: T): Buffer;
  parse(bytes: Buffer): T;
  /**
   * The registry never deletes it (a gem is yanked, not deleted): writes that follow a change's answer skip the
   * check that it was not deleted meanwhile (a storage request per change), and a derived document with a later
   * revision than the truth read is never taken for a deleted package's left-over.
   */
  neverDeleted?: boolean;
}

/** Something derived from the truth: a document of its own, or an entry in a shared one (a search shard). */
export interface IDerivedTarget<T> {
  /** For logs. */
  label: string;
  /**
   * Write what `truth` implies (null: the package is gone; `revision` was its last), unless what
   * is stored was derived from a later revision. `force` writes anyway (a repair from the truth). Resolves
   * false only when nothing it wrote can outlive a deletion of the package made meanwhile (see
   * `writeUnlessDeletedMeanwhile`); anything else counts as "it may".
   */
  write(name: string, truth: T | null, revision: string, ctx: IStorageOperationContext, force: boolean): Promise<boolean | void>;
  /**
   * Written after the change is answered (default: before). Only for what every read waits for and checks:
   * a document served through `ensureCurrent` (which waits for this instance's writes under way and repairs
   * what another instance left stale), a `SearchIndex` entry (a search waits for the updates under way), or an
   * entry in a shared document whose reads wait for this instance's writes under way and whose staleness a
   * `TruthSweep` finds (RubyGems' compact index).
   */
  afterAnswer?: boolean;
  /** Where it is stored and the revision it records, when it is one document; checked on read. */
  stored?: {
    key(name: string): string;
    /** Null also when the bytes are not a whole document (damaged in storage): it is derived again. */
    revisionOfBytes(bytes: Buffer): string | null;
    /** See `IDerivedDocumentSpec.revisionOf`: what the document must record to be current (default the truth's revision). */
    revisionOf?(truth: T): string;
  };
}

/** A derived target stored as one document per package: what `ensureCurrent` checks and serves. */
export type IStoredDerivedTarget<T> = IDerivedTarget<T> & Required<Pick<IDerivedTarget<T>, 'stored'>>;

/** A derived target that is one document per package, rendered from the truth. */
export interface IDerivedDocumentSpec<T> {
  label: string;
  key(name: string): string;
  /** The document's bytes; they must record `revisionOf(truth)` (default the truth's revision) where `revisionOfBytes` finds it. */
  render(truth: T): Buffer;
  /** Null also when the bytes are not a whole document (damaged in storage): it is derived again. */
  revisionOfBytes(bytes: Buffer): string | null;
  /**
   * The revision the document records and is ordered by, when it is made of part of the truth only: the revision of
   * the last change that altered that part, which the truth keeps (it only grows, like the truth's). A change that
   * leaves the part alone writes nothing: this instance remembers having written that revision, or storage has it.
   */
  revisionOf?(truth: T): string;
  /** See `IDerivedTarget.afterAnswer`. */
  afterAnswer?: boolean;
}

export interface ITruthChangeResult<T> {
  value: T | null;
  changed: boolean;
  /**
   * The derived writes, which go on after `change` resolved: true once all are written, false when one failed
   * (logged; the truth is written and reads repair the rest). Never rejects.
   */
  derived: Promise<boolean>;
}

/** The number that orders `{n}-{id}` revisions; 0 for anything else. */
export function revisionOrder(revision: string | null | undefined): number {
  const n = typeof revision === 'string' ? Number.parseInt(revision.split('-')[0], 10) : Number.NaN;
  return Number.isSafeInteger(n) ? n : 0;
}

/** The `revision` field of a stored JSON document; null when it has none (or is not JSON). */
export function jsonRevisionOf(bytes: Buffer): string | null {
  try {
    const revision = (JSON.parse(bytes.toString('utf8')) as { revision?: unknown } | null)?.revision;
    return typeof revision === 'string' ? revision : null;
  } catch {
    return null;
  }
}

/**
 * A truth stored as JSON that records its revision in a `revision` field (a crate, a gem). `growing` names an
 * array or record field whose elements are never changed in place (a crate's versions, a gem's versions by
 * number): each is serialized once (serializeGrowing), so a write costs what is new rather than the whole history again.
 */
export function jsonTruth<T extends { revision: string }>(
  key: (name: string) => string,
  options: { growing?: keyof T & string; neverDeleted?: boolean } = {},
): ITruthSpec<T> {
  const { growing, neverDeleted } = options;
  return {
    key,
    neverDeleted,
    revision: (value) => value.revision,
    revisionOfBytes: jsonRevisionOf,
    serialize: (value) => (growing ? serializeGrowing(value, growing) : Buffer.from(JSON.stringify(value))),
    parse: (bytes) => JSON.parse(bytes.toString('utf8')) as T,
  };
}

/**
 * The revision after `previous` (null: a new document): `{n}-{id}` with n = max(previous + 1, now in
 * ms), so revisions only grow, also across a package's deletion and re-creation.
 */
export function nextRevision(previous: string | null | undefined, id: string, nowMs = Date.now()): string {
  return `${Math.max(revisionOrder(previous) + 1, nowMs)}-${id}`;
}

/**
 * A derived document of its own: written by a conditional read-modify-write that leaves it alone
 * when what is stored came from a later revision, so concurrent writers can land in any order.
 */
export function derivedDocument<T>(storage: RegistryStorage, spec: IDerivedDocumentSpec<T>): IStoredDerivedTarget<T> {
  const parse = (bytes: Buffer) => ({ revision: spec.revisionOfBytes(bytes) });
  return {
    label: spec.label,
    afterAnswer: spec.afterAnswer,
    stored: { key: spec.key, revisionOfBytes: spec.revisionOfBytes, revisionOf: spec.revisionOf },
    async write(name, truth, revision, ctx, force) {
      const key = spec.key(name);
      // A part of the truth this change left alone: written already (a repair first forgets what was remembered).
      const recorded = truth && spec.revisionOf ? spec.revisionOf(truth) : revision;
      if (!force && truth && spec.revisionOf && storage.rememberedDocument<{ revision: string | null }>(key)?.revision === recorded) return false;
      // Written after the answer: rendered, hashed, signed and sent once the answer has gone out. `truth` may be
      // changed in place by the next update of the package, which waits one turn more (DerivedDocuments.change).
      if (spec.afterAnswer) await setImmediate();
      const bytes = truth ? spec.render(truth) : null;
      const order = revisionOrder(recorded);
      const written = await storage.updateDocument<{ revision: string | null }>(
        key,
        ctx,
        (current) => {
          if (!force && current && revisionOrder(current.revision) > order) return UNCHANGED;
          if (!force && bytes && spec.revisionOf && current?.revision === recorded) return UNCHANGED;
          return bytes ? new SerializedDocument({ revision: recorded }, bytes) : current ? DELETE : UNCHANGED;
        },
        { parse },
      );
      // A deletion removes this document: one made before the write refused it, one after takes it.
      return written.changed && !written.overwroteFound;
    },
  };
}

/** What `writeDerived` did. */
interface IDerivedWrites {
  ok: boolean;
  mayOutliveDeletion: boolean;
}

/** Packages whose keys and verified pairs (truth etag, derived etag) are remembered, so a read costs a stat of each, not a read. */
const VERIFIED_ENTRIES = 50_000;

/**
 * A stored package's keys, built once: a key string built for each read is hashed again by every lookup
 * of it (recent stats, document cache), the same string only once. Beside each derived key, the etags of
 * the truth and of that document when they were last found to match.
 */
interface IDerivedKey {
  key: string;
  verified?: { truthEtag: string; derivedEtag: string };
}

interface IPackageKeys {
  truth: string;
  /** By the target's index in `targets`. */
  derived: Array<IDerivedKey | undefined>;
}

/**
 * A truth document and what is derived from it, kept in step:
 *
 * - a change is a read-modify-write of the truth; once the truth is written the change has
 *   happened, and the derived writes follow (ordered by revision: an older derivation never
 *   replaces a newer one); those of targets marked `afterAnswer` go on after the change is answered.
 *   A failed derived write is logged, not answered: the truth stands;
 * - a read of a derived document first waits for this instance's derived writes of that package still
 *   under way, then checks it was made from the current truth (two recent stats, a read only after a
 *   change) and, when it is stale or missing (another instance's change not derived yet, or a crash
 *   between the truth and its derived writes), derives again from the truth.
 */
export class DerivedDocuments<T> {
  private readonly packages = new BoundedCache<IPackageKeys>({ maxEntries: VERIFIED_ENTRIES });
  private readonly repairs = new Map<string, Promise<void>>();
  /** Derived writes of each package that went on after its change was answered. */
  private readonly deriving = new Map<string, Promise<unknown>>();
  /** Per package, until the late derived documents of its last change have rendered (see deriveAfterAnswer). */
  private readonly rendering = new Map<string, Promise<void>>();

  constructor(
    private readonly storage: RegistryStorage,
    private readonly truth: ITruthSpec<T>,
    private readonly targets: IDerivedTarget<T>[],
    private readonly logger: Logger,
  ) {}

  /**
   * Change the truth of `name`; `before` is work that must finish before it is written (an upload).
   * Resolves once the truth is written; derived documents are written after it, from the value written
   * (`derived` tells when they are).
   */
  async change(
    name: string,
    ctx: IStorageOperationContext,
    mutate: TDocumentMutator<T>,
    before?: Promise<unknown>,
  ): Promise<ITruthChangeResult<T>> {
    // The value the last change wrote may be the one this change's mutator gets and changes in place.
    const rendering = this.rendering.get(name);
    if (rendering) await rendering;
    let lastRevision = '0-0';
    const result = await this.storage.updateDocument<T>(
      this.truth.key(name),
      ctx,
      async (current) => {
        const next = await mutate(current);
        lastRevision = current ? this.truth.revision(current) : '0-0';
        if (next === DELETE || next === UNCHANGED) return next;
        const value = next instanceof SerializedDocument ? next.value : next;
        return next instanceof SerializedDocument ? next : new SerializedDocument(value, this.truth.serialize(value));
      },
      { prerequisite: before },
    );
    if (!result.changed) return { value: result.value, changed: false, derived: Promise.resolve(true) };
    const revision = result.value ? this.truth.revision(result.value) : lastRevision;
    const later = this.targets.some((target) => target.afterAnswer) ? this.deriveAfterAnswer(name, result.value, revision, ctx) : Promise.resolve(true);
    const now = await this.writeDerived(name, result.value, revision, ctx, false, (target) => target.afterAnswer !== true);
    return { value: result.value, changed: true, derived: now.ok ? later : later.then(() => false) };
  }

  /**
   * The derived writes of a change to targets marked `afterAnswer`, started now and left to finish after the
   * answer, which then costs the truth's write and not theirs as well. A derived document renders after a
   * `setImmediate` (the answer is written on the turn `change` resolves: a Composer p2 file of 200 versions takes
   * 0.2-0.5 ms); other targets take what they need of `truth` at once. The value may be changed in place by the
   * next update, so the next change of the package on this instance waits until those renders have run. Reads on
   * this instance and `RegistryStorage.destroy` wait for the writes.
   */
  private deriveAfterAnswer(name: string, truth: T | null, revision: string, ctx: IStorageOperationContext): Promise<boolean> {
    const late = (target: IDerivedTarget<T>) => target.afterAnswer === true;
    const write = () => this.writeDerived(name, truth, revision, ctx, false, late);
    const written =
      truth === null || this.truth.neverDeleted
        ? write().then((writes) => writes.ok)
        : writeUnlessDeletedMeanwhile(
            this.storage,
            this.truth.key(name),
            () => write().then((writes) => ({ written: writes.ok, mayOutliveDeletion: writes.mayOutliveDeletion })),
            async (ok) => (await this.writeDerived(name, null, revision, ctx, false, late)).ok && ok,
          );
    // Immediates run in order, each followed by its promise continuations: this one after every render.
    const rendered = setImmediate();
    this.rendering.set(name, rendered);
    void rendered.then(() => {
      if (this.rendering.get(name) === rendered) this.rendering.delete(name);
    });
    const earlier = this.deriving.get(name);
    const pending = earlier ? Promise.all([earlier, written]) : written;
    this.deriving.set(name, pending);
    void pending.then(() => {
      if (this.deriving.get(name) === pending) this.deriving.delete(name);
    });
    this.storage.finishLater(written);
    return written;
  }

  /**
   * Before serving the derived document `target` of `name`: make sure it was made from the current
   * truth, deriving everything again from the truth when it was not (missing, stale, or left over
   * after the truth was deleted). Cheap when nothing changed since it was last verified. Resolves with
   * the document's key, the same string on every read of a package that exists (see IPackageKeys).
   */
  async ensureCurrent(name: string, target: IStoredDerivedTarget<T>, ctx: IStorageOperationContext): Promise<string> {
    // This instance's own derived writes first: the read right after a publish finds them written, not stale.
    const deriving = this.deriving.get(name);
    if (deriving) await deriving;
    const kept = this.packages.get(name);
    const keys: IPackageKeys = kept ?? { truth: this.truth.key(name), derived: this.targets.map((each) => (each.stored ? { key: each.stored.key(name) } : undefined)) };
    const slot = keys.derived[this.targets.indexOf(target)]!;
    let truthInfo = this.storage.knownRecentStat(keys.truth);
    let derivedInfo = this.storage.knownRecentStat(slot.key);
    if (truthInfo === undefined || derivedInfo === undefined) {
      [truthInfo, derivedInfo] = await Promise.all([this.storage.statRecent(keys.truth), this.storage.statRecent(slot.key)]);
    }
    if (!truthInfo && !derivedInfo) return slot.key;
    // Kept only for packages that exist: names nobody published cost no memory here.
    if (!kept) this.packages.set(name, keys);
    const pair = slot.verified;
    if (pair !== undefined && pair.truthEtag === truthInfo?.etag && pair.derivedEtag === derivedInfo?.etag) return slot.key;
    const repairKey = `${target.label}\n${name}`;
    let pending = this.repairs.get(repairKey);
    if (!pending) {
      pending = this.verify(name, target, keys.truth, slot, ctx).finally(() => this.repairs.delete(repairKey));
      this.repairs.set(repairKey, pending);
    }
    await pending;
    return slot.key;
  }

  /**
   * The key `ensureCurrent` would resolve with when it needs neither storage nor a wait (no derived write of
   * this instance under way, both recent stats known and matching the verified pair); undefined otherwise.
   * Hot reads take it first, without a promise.
   */
  knownCurrent(name: string, target: IStoredDerivedTarget<T>): string | undefined {
    if (this.deriving.has(name)) return undefined;
    const keys = this.packages.get(name);
    const slot = keys?.derived[this.targets.indexOf(target)];
    const pair = slot?.verified;
    if (!pair) return undefined;
    if (this.storage.knownRecentStat(keys!.truth)?.etag !== pair.truthEtag || this.storage.knownRecentStat(slot!.key)?.etag !== pair.derivedEtag) return undefined;
    return slot!.key;
  }

  /**
   * Derive everything of `name` again from its stored truth, in revision order (a derivation from a
   * later revision stays). For staleness found other than by `ensureCurrent` (an entry in a shared
   * document, found by a sweep of the truths). False when a derived write failed (logged).
   */
  async rederive(name: string, ctx: IStorageOperationContext): Promise<boolean> {
    const stored = await this.storage.getBytes(this.truth.key(name));
    if (!stored) return true;
    const truth = parseStored(this.truth.key(name), stored.bytes, this.truth.parse);
    return (await this.writeDerived(name, truth, this.truth.revision(truth), ctx, false)).ok;
  }

  private async verify(name: string, target: IStoredDerivedTarget<T>, truthKey: string, slot: IDerivedKey, ctx: IStorageOperationContext) {
    const [firstTruthBytes, derivedBytes] = await Promise.all([this.storage.getBytes(truthKey), this.storage.getBytes(slot.key)]);
    let truthBytes = firstTruthBytes;
    // Newer than the stats that sent us here (a derived write of another instance may have landed between):
    // the read that follows must not answer from a remembered "missing".
    this.storage.forgetRecentStat(truthKey);
    this.storage.forgetRecentStat(slot.key);
    // The revision the derived document must record: the truth's, or the one the target takes from it.
    const truthRevisionOf = (bytes: Buffer) => (target.stored.revisionOf ? this.targetRevisionOf(target.stored.revisionOf, truthKey, bytes) : this.truth.revisionOfBytes(bytes));
    let truthRevision = truthBytes ? truthRevisionOf(truthBytes.bytes) : null;
    const derivedRevision = derivedBytes ? target.stored.revisionOfBytes(derivedBytes.bytes) : null;
    if (derivedBytes && !this.truth.neverDeleted && revisionOrder(derivedRevision) > revisionOrder(truthRevision)) {
      // Derived from a later truth than the one read: a change landed between the two reads, or the truth was
      // deleted and this is its last writer's left-over. Derived writes follow the truth's, so reading it again
      // tells which.
      truthBytes = await this.storage.getBytes(truthKey);
      truthRevision = truthBytes ? truthRevisionOf(truthBytes.bytes) : null;
    }
    if (truthBytes && derivedBytes && truthRevision === derivedRevision) {
      slot.verified = { truthEtag: truthBytes.etag, derivedEtag: derivedBytes.etag };
      return;
    }
    if (!truthBytes && !derivedBytes) return;
    this.logger.warn(`${target.label} of ${name} is ${derivedBytes ? 'stale' : 'missing'}: deriving it again`);
    slot.verified = undefined;
    // Storage does not hold what this instance remembers having written: the write must not be skipped for it.
    this.storage.forgetDocument(slot.key);
    // A damaged truth fails the read: deriving "no versions" from it would hide every version it held.
    const truth = truthBytes ? parseStored(truthKey, truthBytes.bytes, this.truth.parse) : null;
    // A derived document still claiming a later revision than the truth's (left by a deleted package's
    // last writer) is overwritten; otherwise ordering stands, so a repair racing a newer change
    // cannot put an older derivation back. A truth that is never deleted was read before a change that
    // landed between the two reads: forcing would put its older derivations back (a yanked gem in /versions).
    const force = !this.truth.neverDeleted && revisionOrder(derivedRevision) > revisionOrder(truthRevision);
    await this.writeDerived(name, truth, truthRevision ?? derivedRevision ?? '0-0', ctx, force);
  }

  /** The revision `revisionOf` takes from stored truth bytes; null when they do not parse (a damaged truth fails the repair). */
  private targetRevisionOf(revisionOf: (truth: T) => string, truthKey: string, bytes: Buffer): string | null {
    try {
      return revisionOf(parseStored(truthKey, bytes, this.truth.parse));
    } catch {
      return null;
    }
  }

  /**
   * Every derived write (of the targets `which` picks), settled: `ok` false when one failed (logged);
   * `mayOutliveDeletion` unless every target said nothing it wrote can.
   */
  private async writeDerived(
    name: string,
    truth: T | null,
    revision: string,
    ctx: IStorageOperationContext,
    force: boolean,
    which: (target: IDerivedTarget<T>) => boolean = () => true,
  ): Promise<IDerivedWrites> {
    const targets = this.targets.filter(which);
    const results = await Promise.allSettled(targets.map((target) => target.write(name, truth, revision, ctx, force)));
    const writes = { ok: true, mayOutliveDeletion: false };
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        if (result.value !== false) writes.mayOutliveDeletion = true;
        return;
      }
      writes.ok = false;
      writes.mayOutliveDeletion = true;
      this.logger.warn(`${targets[index].label} of ${name} was not written (reads will repair it)`, result.reason);
    });
    return writes;
  }
}
