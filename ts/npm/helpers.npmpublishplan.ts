import { RegistryError } from '../core/classes.registryerror.js';
import { isPlainObject } from '../core/helpers.json.js';
import type { IPublishPlan, IPublishVersion } from './classes.npmpackagestore.js';
import { cannotPublishOver, type IStoredTarball, type NpmTarballUpload } from './classes.npmtarballupload.js';
import {
  attachmentVersion,
  containsNul,
  distTagError,
  prepareVersionManifest,
  tarballFileName,
} from './helpers.npm.js';
import type { INpmPerson, INpmPublishBody } from './interfaces.npm.js';

/** `name` and `_id` of a publish document, when present, are the package of the URL. */
export function checkDocumentName(document: Record<string, unknown>, name: string) {
  for (const field of ['name', '_id'] as const) {
    if (document[field] !== undefined && document[field] !== name) {
      throw RegistryError.invalid(`package ${field} in the body (${JSON.stringify(document[field])}) does not match the URL (${name})`);
    }
  }
}

/** The tarball an attachment's `data` streamed into storage, with the checks npm's own registry makes. */
function storedAttachment(name: string, version: string, attachment: unknown, upload: NpmTarballUpload): IStoredTarball {
  const label = `attachment ${tarballFileName(name, version)}`;
  const stored = upload.tarballOf(version);
  if (!isPlainObject(attachment) || !stored) throw RegistryError.invalid(`${label} has no data`);
  if (attachment.length !== undefined && attachment.length !== stored.size) {
    throw RegistryError.invalid(`${label}: length says ${JSON.stringify(attachment.length)} but the data has ${stored.size} bytes`);
  }
  return stored;
}

/** Which version each attachment is for: `{name}-{version}.tgz` (scoped: with or without the scope). */
export function attachmentVersions(name: string, versions: Record<string, unknown>, attachments: Record<string, unknown>): Map<string, unknown> {
  const tarballs = new Map<string, unknown>();
  for (const [file, attachment] of Object.entries(attachments)) {
    if (file.endsWith('.sigstore')) continue; // provenance bundles are not kept
    const version = attachmentVersion(name, file, versions);
    tarballs.set(version, attachment);
  }
  return tarballs;
}

export interface IPublishPlanInput {
  name: string;
  body: INpmPublishBody;
  versions: Record<string, unknown>;
  /** From `attachmentVersions`. */
  tarballs: Map<string, unknown>;
  /** Versions already published (a retried publish sends them along; they are skipped). */
  published: ReadonlySet<string>;
  publisher: INpmPerson;
  upload: NpmTarballUpload;
}

/**
 * What a publish will store, checked as npm's own registry checks it: every new version has its
 * tarball, every dist-tag points at a version being published, no NUL in the readme. Pure: no I/O.
 */
export function planPublish({ name, body, versions, tarballs, published, publisher, upload }: IPublishPlanInput): IPublishPlan {
  const planned: IPublishVersion[] = [];
  for (const [version, raw] of Object.entries(versions)) {
    const attachment = tarballs.get(version);
    if (attachment === undefined) {
      if (published.has(version)) continue;
      throw RegistryError.invalid(`version ${version} has no tarball in _attachments`);
    }
    const prepared = prepareVersionManifest(raw, name, version, publisher);
    if ('error' in prepared) throw RegistryError.invalid(prepared.error);
    planned.push({ manifest: prepared.manifest, tarball: storedAttachment(name, version, attachment, upload) });
  }
  // Every version is published already (e.g. the only attachment is a .sigstore bundle): a republish.
  if (planned.length === 0) throw cannotPublishOver(Object.keys(versions).join(', '));

  const tags: Record<string, string> = {};
  const requestedTags = body['dist-tags'] ?? {};
  if (!isPlainObject(requestedTags)) throw RegistryError.invalid('dist-tags must be an object');
  for (const [tag, version] of Object.entries(requestedTags)) {
    const problem = distTagError(tag);
    if (problem) throw RegistryError.invalid(problem);
    if (typeof version !== 'string' || !planned.some((p) => p.manifest.version === version)) {
      throw RegistryError.invalid(`dist-tag ${tag} points at ${JSON.stringify(version)}, which is not being published`);
    }
    tags[tag] = version;
  }
  const first = versions[planned[0].manifest.version] as Record<string, unknown>;
  const readme = typeof body.readme === 'string' ? body.readme : typeof first.readme === 'string' ? first.readme : undefined;
  const readmeFilename = typeof first.readmeFilename === 'string' ? first.readmeFilename : undefined;
  if (containsNul(readme) || containsNul(readmeFilename)) throw RegistryError.invalid('readme contains a NUL character');
  return { versions: planned, tags, publisher, readme, readmeFilename };
}
