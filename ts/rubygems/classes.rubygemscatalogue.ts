import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { RubyGemsStore } from './classes.rubygemsstore.js';
import { isValidGemName } from './helpers.gemspec.js';
import { compareGemVersions, gemFileName, isPrerelease } from './helpers.rubygems.js';
import type { IGemVersionRecord } from './interfaces.rubygems.js';

/** A version of a gem across its platforms (`1.0.0` for ruby and x86_64-linux). */
interface IGemRelease {
  version: string;
  records: IGemVersionRecord[];
}

/** Newest first; platforms within a version by name, `ruby` first. */
function releasesOf(records: IGemVersionRecord[]): IGemRelease[] {
  const byVersion = new Map<string, IGemVersionRecord[]>();
  for (const record of records) byVersion.set(record.spec.version, [...(byVersion.get(record.spec.version) ?? []), record]);
  const platformOrder = (record: IGemVersionRecord) => (record.spec.platform === 'ruby' ? '' : record.spec.platform);
  return [...byVersion]
    .map(([version, list]) => ({ version, records: list.sort((a, b) => platformOrder(a).localeCompare(platformOrder(b))) }))
    .sort((a, b) => compareGemVersions(b.version, a.version));
}

const allYanked = (release: IGemRelease) => release.records.every((record) => record.yanked);

/** The web page's view of gems: search from the RubyGems index, pages from gem.json. */
export class RubyGemsCatalogue implements IPackageCatalogue {
  constructor(private readonly store: RubyGemsStore) {}

  resourceOf(name: string): string {
    return `rubygems:gem:${name}`;
  }

  async search(query: string, size: number, from: number) {
    const result = await this.store.searchGems(query, size, from);
    return { total: result.total, entries: result.gems.map((gem) => ({ name: gem.name, version: gem.version, description: gem.info })) };
  }

  /** A push names `1.0.0-x86_64-linux`; the page lists versions across platforms (a version never holds `-`). */
  publishedPackage(resource: string, version: string | undefined) {
    return { name: resource, ...(version ? { version: version.split('-')[0] } : {}) };
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (!isValidGemName(name)) return null;
    const gem = await this.store.getGem(name);
    if (!gem) return null;
    const releases = releasesOf(Object.values(gem.versions));
    const served = releases.filter((release) => !allYanked(release));
    const latest = (served.find((release) => !isPrerelease(release.version)) ?? served[0])?.version;
    const shown = releases.find((release) => release.version === (version ?? latest ?? releases[0]?.version));
    if (!shown) return null;
    const spec = shown.records.find((record) => !record.yanked)?.spec ?? shown.records[0].spec;
    const source = `${urls.baseUrl}/`;
    return {
      name: gem.name,
      version: shown.version,
      ...(latest ? { latest } : {}),
      description: spec.summary,
      ...(spec.description && spec.description !== spec.summary ? { readme: { format: 'text' as const, text: spec.description } } : {}),
      license: spec.licenses.join(', ') || undefined,
      versions: releases.map((release) => ({
        version: release.version,
        published: release.records[0].createdAt,
        tags: release.records.map((record) => record.spec.platform),
        ...(allYanked(release) ? { yanked: '' } : {}),
      })),
      dependencies: spec.dependencies.map((dependency) => ({
        name: dependency.name,
        requirement: dependency.requirements.join(', '),
        ...(dependency.type === 'development' ? { kind: 'dev' } : {}),
      })),
      files: shown.records.map((record) => ({
        name: `${gemFileName(gem.name, record.spec.version, record.spec.platform)}${record.yanked ? ' (yanked)' : ''}`,
        size: record.size,
        digests: { sha256: record.sha256 },
      })),
      install: [
        { label: 'gem', text: `gem install ${gem.name} -v ${shown.version} --clear-sources --source ${source}` },
        { label: 'Gemfile', text: `source "${urls.baseUrl}" do\n  gem "${gem.name}", "${shown.version}"\nend` },
      ],
      facts: [{ label: 'Platforms', value: shown.records.map((record) => record.spec.platform).join(', ') }],
    };
  }
}
