import type { SearchIndex } from '../core/classes.searchindex.js';
import { dependenciesFromMaps, type TDependencyField } from '../core/helpers.catalogue.js';
import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { ComposerPackageStore } from './classes.composerpackagestore.js';
import { isValidPackageName } from './helpers.composer.js';
import { compareNormalizedVersions, composerStability, isDevVersion } from './helpers.composerversion.js';
import type { IComposerSearchEntry, IComposerVersionEntry, IComposerVersionRecord } from './interfaces.composer.js';

/** The name this page's snippets give the registry in composer.json's `repositories`. */
const REPOSITORY_NAME = 'smartregistry';

const DEPENDENCY_FIELDS: TDependencyField[] = [
  ['require', undefined],
  ['require-dev', 'dev'],
];

/** Package requirements (`vendor/package`); platform ones (`php`, `ext-json`) have no page. */
const dependenciesOf = (entry: IComposerVersionEntry) => dependenciesFromMaps(entry, DEPENDENCY_FIELDS, (name) => name.includes('/'));

const textOf = (value: unknown) => (typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : undefined);

/** Tagged versions newest first, then dev branches newest upload first. */
function ordered(versions: IComposerVersionRecord[]): IComposerVersionRecord[] {
  const tagged = versions.filter((record) => !isDevVersion(record.entry.version_normalized));
  const dev = versions.filter((record) => isDevVersion(record.entry.version_normalized));
  return [...tagged.sort((a, b) => compareNormalizedVersions(b.entry.version_normalized, a.entry.version_normalized)), ...dev];
}

/** The web page's view of Composer packages: search from the Composer index, pages from the package document. */
export class ComposerCatalogue implements IPackageCatalogue {
  constructor(
    private readonly packages: ComposerPackageStore,
    private readonly index: SearchIndex<IComposerSearchEntry>,
  ) {}

  resourceOf(name: string): string {
    return `composer:package:${name}`;
  }

  async search(query: string, size: number, from: number) {
    const result = await this.index.search(query, size, from);
    return { total: result.total, entries: result.entries.map((entry) => ({ name: entry.name, description: entry.description || undefined })) };
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (!isValidPackageName(name)) return null;
    const pkg = await this.packages.getPackage(name);
    if (!pkg || pkg.versions.length === 0) return null;
    const versions = ordered(pkg.versions);
    const latest = (versions.find((record) => composerStability(record.entry.version) === 'stable') ?? versions[0]).entry.version;
    const shown = versions.find((record) => record.entry.version === (version ?? latest));
    if (!shown) return null;
    const entry = shown.entry;
    const repository = JSON.stringify({ repositories: [{ type: 'composer', url: urls.baseUrl }] }, null, 2);
    return {
      name: pkg.name,
      version: entry.version,
      latest,
      description: textOf(entry.description),
      license: textOf(entry.license),
      versions: versions.map((record) => ({
        version: record.entry.version,
        published: record.entry.time,
        ...(isDevVersion(record.entry.version_normalized) ? { tags: ['dev branch'] } : {}),
        ...(record.entry.abandoned !== undefined && record.entry.abandoned !== false ? { deprecated: abandonedText(record.entry.abandoned) } : {}),
      })),
      dependencies: dependenciesOf(entry),
      files: [{ name: `${entry.dist.reference}.zip`, size: shown.size, digests: { sha1: entry.dist.shasum } }],
      install: [
        { label: 'composer', text: `composer config repositories.${REPOSITORY_NAME} composer ${urls.baseUrl}\ncomposer require ${pkg.name}:${entry.version}` },
        { label: 'composer.json', text: repository },
      ],
    };
  }
}

const abandonedText = (abandoned: unknown) => (typeof abandoned === 'string' ? `abandoned, use ${abandoned}` : 'abandoned');
