import semver from 'semver';
import { dependenciesFromMaps, type TDependencyField } from '../core/helpers.catalogue.js';
import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { NpmPackageStore } from './classes.npmpackagestore.js';
import type { NpmSearchIndex } from './classes.npmsearchindex.js';
import { scopeOf, tarballFileName, validatePackageName } from './helpers.npm.js';

const DEPENDENCY_FIELDS: TDependencyField[] = [
  ['dependencies', undefined],
  ['peerDependencies', 'peer'],
  ['optionalDependencies', 'optional'],
  ['devDependencies', 'dev'],
];

const licenseOf = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The web page's view of npm packages: search from the npm index, pages from the packument. */
export class NpmCatalogue implements IPackageCatalogue {
  constructor(
    private readonly packages: NpmPackageStore,
    private readonly index: NpmSearchIndex,
  ) {}

  resourceOf(name: string): string {
    return `npm:package:${name}`;
  }

  async search(query: string, size: number, from: number) {
    const result = await this.index.search(query, size, from);
    return { total: result.total, entries: result.entries.map((entry) => ({ name: entry.name, version: entry.version, description: entry.description })) };
  }

  /** A publish names the versions whose tarballs it brought; one without any (a deprecation, a dist-tag) is not listed. */
  publishedPackage(resource: string, version: string | undefined) {
    const versions = (version ?? '').split(',').filter(Boolean);
    return versions.length > 0 ? { name: resource, version: versions[versions.length - 1] } : null;
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (!validatePackageName(name).validForOld) return null;
    const doc = await this.packages.getParsed(name, urls.baseUrl);
    if (!doc) return null;
    const latest = doc['dist-tags'].latest;
    const shown = version ?? latest ?? Object.keys(doc.versions)[0];
    const manifest = shown === undefined ? undefined : doc.versions[shown];
    if (!manifest) return null;
    const tagsOf = new Map<string, string[]>();
    for (const [tag, tagged] of Object.entries(doc['dist-tags'])) tagsOf.set(tagged, [...(tagsOf.get(tagged) ?? []), tag]);
    const versions = Object.keys(doc.versions)
      .filter((v) => semver.valid(v))
      .sort(semver.rcompare)
      .map((v) => ({
        version: v,
        ...(doc.time[v] ? { published: doc.time[v] } : {}),
        ...(tagsOf.has(v) ? { tags: tagsOf.get(v) } : {}),
        ...(typeof doc.versions[v].deprecated === 'string' ? { deprecated: doc.versions[v].deprecated } : {}),
      }));
    const readme = (shown === latest ? doc.readme : undefined) || manifest.readme || doc.readme;
    const scope = scopeOf(name);
    const registry = `${urls.baseUrl}/`;
    return {
      name,
      version: shown,
      latest,
      description: manifest.description ?? doc.description,
      ...(readme ? { readme: { format: 'markdown' as const, text: readme } } : {}),
      license: licenseOf(manifest.license) ?? licenseOf(doc.license),
      versions,
      dependencies: dependenciesFromMaps(manifest, DEPENDENCY_FIELDS),
      files: [
        {
          name: tarballFileName(name, shown!),
          digests: { ...(manifest.dist.integrity ? { integrity: manifest.dist.integrity } : {}), ...(manifest.dist.shasum ? { sha1: manifest.dist.shasum } : {}) },
        },
      ],
      install: [
        { label: 'npm', text: `npm install ${name}@${shown} --registry=${registry}` },
        { label: '.npmrc', text: scope ? `${scope}:registry=${registry}` : `registry=${registry}` },
      ],
    };
  }
}
