import type { Logger } from '../core/classes.logger.js';
import type { RegistryStorage } from '../core/classes.registrystorage.js';
import { SearchIndex, splitWords, type ISearchIndexSpec } from '../core/classes.searchindex.js';
import { mavenPaths } from '../core/storage.paths.js';
import { toSearchEntry } from './helpers.maven.js';
import type { IMavenArtifactDocument, IMavenSearchEntry } from './interfaces.maven.js';

/** Never change once data exists: an artifact's shard is derived from its name. */
const SHARD_COUNT = 64;

/** `GET /api/search`: every artifact in the core search index, found by the words of its groupId and artifactId. */
export function createMavenSearchIndex(storage: RegistryStorage, logger: Logger, revalidateMs: number): SearchIndex<IMavenSearchEntry> {
  const spec: ISearchIndexSpec<IMavenSearchEntry> = {
    label: 'maven search index',
    shardCount: SHARD_COUNT,
    shardKey: mavenPaths.searchShard,
    nameOf: (entry) => entry.name,
    revisionOf: (entry) => entry.rev,
    // Entries are made bounded (toSearchEntry keeps the newest versions only); names are coordinates.
    bound: (entry) => entry,
    wordsOf: (entry) => {
      const groupId = entry.groupId.toLowerCase();
      const artifactId = entry.artifactId.toLowerCase();
      return [entry.name.toLowerCase(), groupId, artifactId, ...splitWords(groupId), ...splitWords(artifactId)];
    },
    // `groupId:artifactId` exactly, then the artifactId exactly, then artifactIds starting with the query.
    ranker: (query) => (name) => {
      const artifactId = name.slice(name.indexOf(':') + 1);
      return name === query ? 0 : artifactId === query ? 1 : artifactId.startsWith(query) ? 2 : 3;
    },
    async *rebuild(belongs) {
      for await (const info of storage.listAll(mavenPaths.artifactsPrefix(''))) {
        if (!mavenPaths.artifactDirectoryOf(info.key)) continue;
        const document = await storage.getJson<IMavenArtifactDocument>(info.key);
        if (!document) continue;
        const entry = toSearchEntry(document.value);
        if (belongs(entry.name)) yield entry;
      }
    },
  };
  return new SearchIndex(storage, spec, { revalidateMs, logger });
}
