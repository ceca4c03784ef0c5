import type { Logger } from './classes.logger.js';
import type { RegistryStorage } from './classes.registrystorage.js';

export interface ITruthSweepOptions {
  /** For logs. */
  label: string;
  /** Where the truth documents are listed. */
  prefix: string;
  /** The package a listed key is the truth of; null for other keys under the prefix. */
  nameOf(key: string): string | null;
  /**
   * Compare what is derived for these packages with their truth and repair it (they are new, changed or
   * gone since the last sweep). Throwing leaves them to be checked again by the next sweep.
   */
  check(names: string[]): Promise<void>;
  /** A read triggers a sweep at most this often. */
  intervalMs: number;
  logger: Logger;
  /** Milliseconds now; injected by tests. */
  now?: () => number;
}

/**
 * Repair on read for documents derived from many truths at once (RubyGems' `/versions`): such a
 * document cannot be checked against one truth the way `DerivedDocuments.ensureCurrent` checks a
 * package's own. A sweep lists the truth documents (one listing, at most every `intervalMs`) and
 * hands the packages whose truth etag changed since the last sweep to `check`: after a push the
 * sweep looks at that one package, and a derived write that was lost (a crash between the truth and
 * the shared document) is found and repaired by the next read on any instance.
 */
export class TruthSweep {
  /** Truth etag of every package as last checked. */
  private checked = new Map<string, string>();
  private sweptAt = Number.NEGATIVE_INFINITY;
  private sweeping?: Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly options: ITruthSweepOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Is a sweep due (ensureSwept would wait for one)? */
  get due(): boolean {
    return this.now() - this.sweptAt >= this.options.intervalMs;
  }

  /** Sweep if one is due (one at a time); resolves once it has finished. A failed sweep is logged. */
  async ensureSwept(): Promise<void> {
    if (!this.due) return;
    this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    const started = this.now();
    try {
      const listed = new Map<string, string>();
      for await (const info of this.storage.listAll(this.options.prefix)) {
        const name = this.options.nameOf(info.key);
        if (name !== null) listed.set(name, info.etag);
      }
      const changed = [...listed].filter(([name, etag]) => this.checked.get(name) !== etag).map(([name]) => name);
      for (const name of this.checked.keys()) if (!listed.has(name)) changed.push(name);
      if (changed.length > 0) await this.options.check(changed);
      this.checked = listed;
    } catch (error) {
      this.options.logger.warn(`${this.options.label}: sweep failed; the next one checks again`, error);
    } finally {
      this.sweptAt = started;
    }
  }
}
