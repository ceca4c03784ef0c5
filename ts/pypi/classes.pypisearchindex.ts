import { writeUnlessDeletedMeanwhile } from '../core/helpers.latewrite.js';
import type { Logger } from '../core/classes.logger.js';
import type { IStorageOperationContext, RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex } from '../core/classes.searchindex.js';
import { pypiPaths } from '../core/storage.paths.js';
import { boundSearchEntry, searchRanker, searchWords, toSearchEntry } from './helpers.pypi.js';
import type { IPypiProject, IPypiSearchEntry } from './interfaces.pypi.js';

/** Never change once data exists: a project's shard is derived from its name. */
export const SEARCH_SHARD_COUNT = 64;

/** `GET /search`: core's SearchIndex over one entry per project (its latest release). */
export class PypiSearchIndex extends SearchIndex<IPypiSearchEntry> {
  constructor(storage: RegistryStorage, logger: Logger, revalidateMs: number) {
    super(
      storage,
      {
        label: 'pypi search',
        shardCount: SEARCH_SHARD_COUNT,
        shardKey: pypiPaths.searchShard,
        nameOf: (entry) => entry.name,
        revisionOf: (entry) => entry.serial,
        bound: boundSearchEntry,
        wordsOf: searchWords,
        ranker: searchRanker,
        // A shard is rebuilt from the project documents of the names that hash to it.
        async *rebuild(belongs) {
          for await (const info of storage.listAll(pypiPaths.namesPrefix())) {
            const name = pypiPaths.nameOf(info.key);
            if (!belongs(name)) continue;
            const project = await storage.getJson<IPypiProject>(pypiPaths.project(name));
            const entry = project ? toSearchEntry(project.value) : null;
            if (entry) yield entry;
          }
        },
      },
      { revalidateMs, logger },
    );
  }

  /** The entry of a project as its document now is (removed with the project). */
  async reflect(name: string, project: IPypiProject | null, ctx: IStorageOperationContext): Promise<void> {
    const entry = project ? toSearchEntry(project) : null;
    if (entry) await this.upsert(entry, ctx);
    else await this.remove(name, ctx);
  }

  /** `reflect` after the upload was answered (see `writeUnlessDeletedMeanwhile`). */
  async reflectLate(name: string, project: IPypiProject, ctx: IStorageOperationContext): Promise<void> {
    const entry = toSearchEntry(project);
    if (!entry) return this.remove(name, ctx);
    await writeUnlessDeletedMeanwhile(
      this.storage,
      pypiPaths.project(name),
      async () => ({ written: undefined, mayOutliveDeletion: await this.upsert(entry, ctx) }),
      () => this.remove(name, ctx, entry.serial),
    );
  }
}
