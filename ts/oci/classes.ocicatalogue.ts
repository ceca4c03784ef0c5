import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { OciManifestStore } from './classes.ocimanifeststore.js';
import { isValidName, isValidTag, parseDigest, parseManifest } from './helpers.oci.js';

/** Tags shown on a repository page (the first in byte order). */
const MAX_SHOWN_TAGS = 100;

const platformOf = (platform: Record<string, unknown> | undefined) =>
  platform ? [platform.os, platform.architecture, platform.variant].filter((part) => typeof part === 'string' && part).join('/') : '';

/** The web page's view of OCI repositories: tags, the shown tag's manifest, its layers and referrers. */
export class OciCatalogue implements IPackageCatalogue {
  constructor(private readonly manifests: OciManifestStore) {}

  resourceOf(name: string): string {
    return `oci:repository:${name}`;
  }

  /** OCI keeps no search index: repository names are matched against the query words. */
  async search(query: string, size: number, from: number) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const names = (await this.manifests.listRepositories()).filter((name) => words.every((word) => name.toLowerCase().includes(word)));
    return { total: names.length, entries: names.slice(from, from + size).map((name) => ({ name })) };
  }

  /** A push by tag is listed; one by digest alone (an index's platform manifests, a signature) is not. */
  publishedPackage(resource: string, version: string | undefined) {
    return version !== undefined && isValidTag(version) ? { name: resource, version } : null;
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (!isValidName(name) || (version !== undefined && !isValidTag(version))) return null;
    if (!(await this.manifests.repositoryExists(name))) return null;
    const tags = await this.manifests.listTagsPage(name, undefined, MAX_SHOWN_TAGS);
    const shown = version ?? (tags.includes('latest') ? 'latest' : tags[0]);
    const host = new URL(urls.hostUrl).host;
    const page: ICataloguePackage = {
      name,
      ...(tags.includes('latest') ? { latest: 'latest' } : {}),
      versions: tags.map((tag) => ({ version: tag })),
      dependencies: [],
      files: [],
      install: [],
      facts: [],
    };
    if (shown === undefined) return page;
    const digest = await this.manifests.resolveTag(name, shown);
    const parsedDigest = parseDigest(digest ?? undefined);
    const stored = parsedDigest ? await this.manifests.getManifest(name, parsedDigest) : null;
    if (!stored || !parsedDigest) return version === undefined ? page : null;
    const manifest = parseManifest(stored.bytes, stored.mediaType);
    page.version = shown;
    page.description = manifest.annotations?.['org.opencontainers.image.description'];
    page.facts!.push({ label: 'Digest', value: stored.digest }, { label: 'Media type', value: stored.mediaType });
    for (const child of manifest.manifests) {
      page.facts!.push({ label: `Platform ${platformOf(child.platform) || child.artifactType || 'unknown'}`, value: child.digest });
    }
    for (const referrer of await this.manifests.listReferrers(name, parsedDigest)) {
      page.facts!.push({ label: `Referrer ${referrer.artifactType ?? referrer.mediaType}`, value: referrer.digest });
    }
    page.files = [...(manifest.config ? [manifest.config] : []), ...manifest.layers].map((descriptor) => ({
      name: descriptor.mediaType,
      size: descriptor.size,
      digests: { [descriptor.digest.split(':')[0]]: descriptor.digest.slice(descriptor.digest.indexOf(':') + 1) },
    }));
    page.install = [
      { label: 'docker', text: `docker pull ${host}/${name}:${shown}` },
      { label: 'skopeo', text: `skopeo copy docker://${host}/${name}:${shown} oci:${name.split('/').pop()}:${shown}` },
    ];
    return page;
  }
}
