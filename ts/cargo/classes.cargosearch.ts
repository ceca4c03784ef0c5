import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex, splitWords, type ISearchIndexSpec } from '../core/classes.searchindex.js';
import { cargoPaths } from '../core/storage.paths.js';
import { toSearchEntry } from './helpers.cargo.js';
import type { ICargoCrateDocument, ICargoSearchEntry } from './interfaces.cargo.js';

/** Never change once data exists: a crate's shard is derived from its name. */
const SHARD_COUNT = 64;
const MAX_DESCRIPTION_LENGTH = 1000;
const MAX_KEYWORDS = 5;
const MAX_KEYWORD_LENGTH = 20;

/** What `cargo search` finds, in the core search index: name, description and keywords of every crate. */
export function createCargoSearchIndex(storage: RegistryStorage, logger: Logger, revalidateMs: number): SearchIndex<ICargoSearchEntry> {
  const spec: ISearchIndexSpec<ICargoSearchEntry> = {
    label: 'cargo search index',
    shardCount: SHARD_COUNT,
    shardKey: cargoPaths.searchShard,
    nameOf: (entry) => entry.name.toLowerCase(),
    revisionOf: (entry) => entry.rev,
    bound: (entry) => ({
      ...entry,
      description: entry.description === null ? null : entry.description.slice(0, MAX_DESCRIPTION_LENGTH),
      ...(entry.keywords ? { keywords: entry.keywords.slice(0, MAX_KEYWORDS).map((k) => k.slice(0, MAX_KEYWORD_LENGTH)) } : {}),
    }),
    wordsOf: (entry) => {
      const name = entry.name.toLowerCase();
      return [name, ...splitWords(name), ...splitWords(entry.description ?? ''), ...(entry.keywords ?? []).flatMap((k) => [k.toLowerCase(), ...splitWords(k)])];
    },
    // An exact name first, then names starting with the query, then the rest.
    ranker: (query) => (name) => (name === query ? 0 : name.startsWith(query) ? 1 : 2),
    async *rebuild(belongs) {
      for await (const info of storage.listAll(cargoPaths.cratesPrefix())) {
        if (!cargoPaths.isCrateDocument(info.key)) continue;
        const document = await storage.getJson<ICargoCrateDocument>(info.key);
        if (document && belongs(document.value.name.toLowerCase())) yield toSearchEntry(document.value);
      }
    },
  };
  return new SearchIndex(storage, spec, { revalidateMs, logger });
}
