import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex, splitWords } from '../core/classes.searchindex.js';
import { rubygemsPaths } from '../core/storage.paths.js';
import type { IGemSearchEntry } from './interfaces.rubygems.js';

/** Never change once data exists: a gem's shard is derived from its name. */
const SHARD_COUNT = 64;
const MAX_INFO_LENGTH = 1000;

/** What `/api/v1/search.json` finds, in the core search index: every gem with a served version, by name and description. */
export function createGemSearchIndex(
  storage: RegistryStorage,
  logger: Logger,
  revalidateMs: number,
  rebuildEntry: (name: string) => Promise<IGemSearchEntry | null>,
): SearchIndex<IGemSearchEntry> {
  return new SearchIndex<IGemSearchEntry>(
    storage,
    {
      label: 'rubygems search index',
      shardCount: SHARD_COUNT,
      shardKey: rubygemsPaths.searchShard,
      nameOf: (entry) => entry.name.toLowerCase(),
      revisionOf: (entry) => entry.rev,
      bound: (entry) => ({ ...entry, info: entry.info.slice(0, MAX_INFO_LENGTH) }),
      wordsOf: (entry) => {
        const name = entry.name.toLowerCase();
        return [name, ...splitWords(name), ...splitWords(entry.info)];
      },
      // An exact name first, then names starting with the query, then the rest.
      ranker: (query) => (name) => (name === query ? 0 : name.startsWith(query) ? 1 : 2),
      async *rebuild(belongs) {
        for await (const info of storage.listAll(rubygemsPaths.gemsPrefix())) {
          const name = rubygemsPaths.gemOf(info.key);
          if (name === null || !belongs(name.toLowerCase())) continue;
          const entry = await rebuildEntry(name);
          if (entry) yield entry;
        }
      },
    },
    { revalidateMs, logger },
  );
}
