import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex, splitWords, type ISearchIndexSpec } from '../core/classes.searchindex.js';
import { composerPaths } from '../core/storage.paths.js';
import { searchEntryOf } from './helpers.composer.js';
import type { IComposerPackageDocument, IComposerSearchEntry } from './interfaces.composer.js';

/** Never change once data exists: a package's shard is derived from its name. */
const SHARD_COUNT = 64;
const MAX_DESCRIPTION_LENGTH = 1000;
const MAX_TYPE_LENGTH = 100;

/** What `composer search` finds, in the core search index: name (vendor and package words) and description. */
export function createComposerSearchIndex(storage: RegistryStorage, logger: Logger, revalidateMs: number): SearchIndex<IComposerSearchEntry> {
  const spec: ISearchIndexSpec<IComposerSearchEntry> = {
    label: 'composer search index',
    shardCount: SHARD_COUNT,
    shardKey: composerPaths.searchShard,
    nameOf: (entry) => entry.name,
    revisionOf: (entry) => entry.rev,
    bound: (entry) => ({ ...entry, description: entry.description.slice(0, MAX_DESCRIPTION_LENGTH), type: entry.type.slice(0, MAX_TYPE_LENGTH) }),
    wordsOf: (entry) => [entry.name, ...entry.name.split('/'), ...splitWords(entry.name), ...splitWords(entry.description)],
    // The exact name first, then names starting with the query, then the rest.
    ranker: (query) => (name) => (name === query ? 0 : name.startsWith(query) ? 1 : 2),
    async *rebuild(belongs) {
      for await (const info of storage.listAll(composerPaths.namesPrefix())) {
        const name = composerPaths.nameOf(info.key);
        if (!belongs(name)) continue;
        const stored = await storage.getJson<IComposerPackageDocument>(composerPaths.package(name));
        if (stored) yield searchEntryOf(stored.value);
      }
    },
  };
  return new SearchIndex(storage, spec, { revalidateMs, logger });
}
