import type { SearchIndex } from '../core/classes.searchindex.js';
import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { CargoCrateStore } from './classes.cargocratestore.js';
import { crateNameError, maxVersion } from './helpers.cargo.js';
import type { ICargoSearchEntry } from './interfaces.cargo.js';

/** The name this page's install snippets give the registry in cargo's configuration. */
const REGISTRY_NAME = 'smartregistry';

/** The web page's view of crates: search from the Cargo index, pages from the crate document and the readme published with the version. */
export class CargoCatalogue implements IPackageCatalogue {
  constructor(
    private readonly crates: CargoCrateStore,
    private readonly index: SearchIndex<ICargoSearchEntry>,
  ) {}

  resourceOf(name: string): string {
    return `cargo:crate:${name.toLowerCase()}`;
  }

  async search(query: string, size: number, from: number) {
    const result = await this.index.search(query, size, from);
    return { total: result.total, entries: result.entries.map((entry) => ({ name: entry.name, version: entry.max_version, description: entry.description ?? undefined })) };
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (crateNameError(name) !== null) return null;
    const crate = await this.crates.getCrate(name);
    if (!crate) return null;
    const latest = maxVersion(crate);
    const shown = crate.versions.find((record) => record.entry.vers === (version ?? latest));
    if (!shown) return null;
    const readme = await this.crates.readme(crate, shown);
    return {
      name: crate.name,
      version: shown.entry.vers,
      latest,
      description: crate.description,
      ...(readme ? { readme: { format: 'markdown' as const, text: readme } } : {}),
      versions: [...crate.versions].reverse().map((record) => ({
        version: record.entry.vers,
        published: record.publishedAt,
        ...(record.entry.yanked ? { yanked: '' } : {}),
      })),
      dependencies: shown.entry.deps.map((dep) => ({
        name: dep.package ?? dep.name,
        requirement: dep.req,
        ...(dep.kind !== 'normal' ? { kind: dep.kind } : dep.optional ? { kind: 'optional' } : {}),
      })),
      files: [{ name: `${crate.name}-${shown.entry.vers}.crate`, size: shown.size, digests: { sha256: shown.entry.cksum } }],
      install: [
        { label: 'cargo', text: `cargo add ${crate.name}@${shown.entry.vers} --registry ${REGISTRY_NAME}` },
        { label: '.cargo/config.toml', text: `[registries.${REGISTRY_NAME}]\nindex = "sparse+${urls.baseUrl}/"` },
      ],
    };
  }
}
