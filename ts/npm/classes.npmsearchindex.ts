import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex } from '../core/classes.searchindex.js';
import { npmPaths } from '../core/storage.paths.js';
import { boundSearchEntry, searchRanker, searchWords, toSearchEntry } from './helpers.npm.js';
import type { INpmPackument, INpmSearchEntry } from './interfaces.npm.js';

/** Never change once data exists: a package's shard is derived from it. */
export const SEARCH_SHARD_COUNT = 128;

/** The npm package search: core's SearchIndex over npm search entries. */
export class NpmSearchIndex extends SearchIndex<INpmSearchEntry> {
  constructor(storage: RegistryStorage, revalidateMs: number, logger: Logger, maxResidentBytes?: number) {
    super(
      storage,
      {
        label: 'npm search',
        shardCount: SEARCH_SHARD_COUNT,
        shardKey: npmPaths.searchShard,
        nameOf: (entry) => entry.name,
        revisionOf: (entry) => entry.rev ?? 0,
        bound: boundSearchEntry,
        wordsOf: searchWords,
        ranker: searchRanker,
        // A shard is rebuilt from the packuments of the packages that hash to it.
        async *rebuild(belongs) {
          for await (const info of storage.listAll(npmPaths.packagesPrefix())) {
            const name = npmPaths.packumentName(info.key);
            if (name === null || !belongs(name)) continue;
            const packument = await storage.getJson<INpmPackument>(info.key);
            const entry = packument ? toSearchEntry(packument.value) : null;
            if (entry) yield entry;
          }
        },
      },
      { revalidateMs, logger, maxResidentBytes },
    );
  }
}
