import type { SearchIndex } from '../core/classes.searchindex.js';
import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { MavenStore } from './classes.mavenstore.js';
import { parsePom, parseRepositoryPath, type IPomInfo } from './helpers.maven.js';
import { compareMavenVersions } from './helpers.mavenversion.js';
import type { IMavenSearchEntry } from './interfaces.maven.js';

const COORDINATE_PART = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** `groupId:artifactId`, both in Maven's characters and the groupId without empty segments. */
function parseCoordinates(name: string): { groupId: string; artifactId: string } | null {
  const [groupId, artifactId, ...rest] = name.split(':');
  if (rest.length > 0 || !groupId || !artifactId) return null;
  if (!COORDINATE_PART.test(artifactId) || groupId.split('.').some((part) => !COORDINATE_PART.test(part))) return null;
  return { groupId, artifactId };
}

/** `yyyyMMddHHmmss` → ISO 8601. */
const isoOf = (stamp: string) => (/^\d{14}$/.test(stamp) ? `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}Z` : undefined);

/** The web page's view of Maven artifacts (`groupId:artifactId`): search from the core index, pages from the artifact documents. */
export class MavenCatalogue implements IPackageCatalogue {
  constructor(
    private readonly store: MavenStore,
    private readonly index: SearchIndex<IMavenSearchEntry>,
  ) {}

  resourceOf(name: string): string {
    return `maven:artifact:${name}`;
  }

  /** From the core search index (words of groupId and artifactId), like `/api/search`. */
  async search(query: string, size: number, from: number) {
    const { total, entries } = await this.index.search(query, size, from);
    return { total, entries: entries.map((entry) => ({ name: entry.name, version: entry.release ?? entry.latest })) };
  }

  /** A deploy's events name each file (`com/example/lib/1.0/lib-1.0.jar`): the artifact's page lists them once. */
  publishedPackage(resource: string, version: string | undefined) {
    try {
      const target = parseRepositoryPath(resource);
      return target.kind === 'file' ? { name: `${target.groupId}:${target.artifactId}`, version: version ?? target.version } : null;
    } catch {
      return null;
    }
  }

  /** The version's POM (a SNAPSHOT's newest build), read for its description and dependencies; null when there is none or it does not parse. */
  private async readPom(groupId: string, artifactId: string, version: string, files: string[]): Promise<IPomInfo | null> {
    const file = files.filter((name) => name.endsWith('.pom')).sort().pop();
    if (!file) return null;
    try {
      const bytes = await this.store.readFile({ groupId, artifactId, version, file });
      return bytes ? parsePom(bytes) : null;
    } catch {
      return null;
    }
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    const coordinates = parseCoordinates(name);
    if (!coordinates) return null;
    const doc = await this.store.getArtifact(coordinates.groupId, coordinates.artifactId);
    if (!doc) return null;
    const keys = Object.keys(doc.versions).sort((a, b) => compareMavenVersions(b, a));
    const latest = keys.find((key) => !key.endsWith('-SNAPSHOT')) ?? keys[0];
    const shown = version ?? latest;
    const record = shown === undefined ? undefined : doc.versions[shown];
    if (!record) return null;
    const dependency = [
      '<dependency>',
      `  <groupId>${doc.groupId}</groupId>`,
      `  <artifactId>${doc.artifactId}</artifactId>`,
      `  <version>${shown}</version>`,
      ...(doc.packaging && doc.packaging !== 'jar' ? [`  <type>${doc.packaging}</type>`] : []),
      '</dependency>',
    ].join('\n');
    const pom = await this.readPom(doc.groupId, doc.artifactId, shown!, Object.keys(record.files));
    const repository = ['<repository>', '  <id>smartregistry</id>', `  <url>${urls.baseUrl}/</url>`, '</repository>'].join('\n');
    return {
      name: `${doc.groupId}:${doc.artifactId}`,
      version: shown,
      latest,
      description: pom?.description ?? pom?.name ?? doc.name,
      versions: keys.map((key) => ({ version: key, published: isoOf(doc.versions[key].lastUpdated) })),
      dependencies: (pom?.dependencies ?? []).map((dependency) => ({
        name: `${dependency.groupId}:${dependency.artifactId}`,
        requirement: dependency.version ?? '',
        ...(dependency.scope !== 'compile' ? { kind: dependency.scope } : dependency.optional ? { kind: 'optional' } : {}),
      })),
      files: Object.entries(record.files)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([file, digests]) => ({ name: file, size: digests.size, digests: { sha256: digests.sha256, sha1: digests.sha1 } })),
      install: [
        { label: 'pom.xml dependency', text: dependency },
        { label: 'pom.xml repository', text: repository },
      ],
    };
  }
}
