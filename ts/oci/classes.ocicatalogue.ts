import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { OciManifestStore } from './classes.ocimanifeststore.js';
import { isValidName, isValidTag, parseDigest, parseManifest } from './helpers.oci.js';
import type { IOciDescriptor } from './interfaces.oci.js';

/** Tags shown on a repository page (the first in byte order). */
const MAX_SHOWN_TAGS = 100;

const platformOf = (platform: Record<string, unknown> | undefined) =>
  platform ? [platform.os, platform.architecture, platform.variant].filter((part) => typeof part === 'string' && part).join('/') : '';

/** What a referrer is, in words: its artifact type and, when it says, when it was made. */
function referrerText(referrer: IOciDescriptor): string {
  const created = referrer.annotations?.['org.opencontainers.image.created'];
  return `${referrer.digest} (${referrer.size} bytes${created ? `, ${created}` : ''})`;
}

/**
 * The web page's view of OCI repositories: tags, and for the shown tag or digest its manifest — an
 * image's config and layers with sizes, an index's platforms (each linked to its own manifest), and
 * the referrers (signatures, SBOMs, attestations) whose subject it is.
 */
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

  /** `version`: a tag, or a manifest digest (`sha256:…`, as the platform and referrer links give it). */
  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    const byDigest = version !== undefined ? parseDigest(version) : null;
    if (!isValidName(name) || (version !== undefined && !byDigest && !isValidTag(version))) return null;
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
    const digest = byDigest ?? (await this.manifests.resolveTag(name, shown));
    const stored = digest ? await this.manifests.getManifest(name, digest) : null;
    if (!stored || !digest) return version === undefined ? page : null;
    const manifest = parseManifest(stored.bytes, stored.mediaType);
    const facts = page.facts!;
    page.version = shown;
    page.description = manifest.annotations?.['org.opencontainers.image.description'];
    facts.push({ label: 'Digest', value: stored.digest }, { label: 'Media type', value: stored.mediaType });
    if (manifest.artifactType) facts.push({ label: 'Artifact type', value: manifest.artifactType });
    if (manifest.subject) facts.push({ label: 'Refers to', value: manifest.subject.digest, version: manifest.subject.digest });
    for (const child of manifest.manifests) {
      facts.push({ label: `Platform ${platformOf(child.platform) || child.artifactType || 'unknown'} (${child.size} bytes)`, value: child.digest, version: child.digest });
    }
    for (const referrer of await this.manifests.listReferrers(name, digest)) {
      facts.push({ label: `Referrer ${referrer.artifactType ?? referrer.mediaType}`, value: referrerText(referrer), version: referrer.digest });
    }
    page.files = [...(manifest.config ? [manifest.config] : []), ...manifest.layers].map((descriptor) => ({
      name: descriptor.mediaType,
      size: descriptor.size,
      digests: { [descriptor.digest.split(':')[0]]: descriptor.digest.slice(descriptor.digest.indexOf(':') + 1) },
    }));
    const reference = byDigest ? `@${stored.digest}` : `:${shown}`;
    page.install = [
      { label: 'docker', text: `docker pull ${host}/${name}${reference}` },
      { label: 'skopeo', text: `skopeo copy docker://${host}/${name}${reference} oci:${name.split('/').pop()}:${byDigest ? 'latest' : shown}` },
    ];
    return page;
  }
}
