import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { MavenStore } from './classes.mavenstore.js';
import { compareMavenVersions } from './helpers.mavenversion.js';

/** Artifact directories looked through per search (until Maven has an index of its own). */
const MAX_SCANNED_ARTIFACTS = 1000;
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

/** The web page's view of Maven artifacts (`groupId:artifactId`), from the artifact documents. */
export class MavenCatalogue implements IPackageCatalogue {
  constructor(private readonly store: MavenStore) {}

  resourceOf(name: string): string {
    return `maven:artifact:${name}`;
  }

  async search(query: string, size: number, from: number) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const names = (await this.store.artifactDirectories('', MAX_SCANNED_ARTIFACTS))
      .map((directory) => {
        const segments = directory.split('/');
        return `${segments.slice(0, -1).join('.')}:${segments[segments.length - 1]}`;
      })
      .filter((name) => words.every((word) => name.toLowerCase().includes(word)))
      .sort();
    return { total: names.length, entries: names.slice(from, from + size).map((name) => ({ name })) };
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
    const repository = ['<repository>', '  <id>smartregistry</id>', `  <url>${urls.baseUrl}/</url>`, '</repository>'].join('\n');
    return {
      name: `${doc.groupId}:${doc.artifactId}`,
      version: shown,
      latest,
      description: doc.name,
      versions: keys.map((key) => ({ version: key, published: isoOf(doc.versions[key].lastUpdated) })),
      dependencies: [],
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
