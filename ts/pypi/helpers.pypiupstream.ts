/**
 * PyPI's formats for the upstream proxy (pure): the upstream's PEP 691 JSON project page read into
 * file links, those links merged with the local project's (a local file always wins), and where a file
 * and its PEP 658 metadata are fetched from, with the digest each must have.
 */
import type { ISimpleFileLink } from './helpers.pypi.js';
import type { IPypiFile, IPypiProject } from './interfaces.pypi.js';
import { isPlainObject, parseJsonObject } from '../core/helpers.json.js';

/** The JSON form of the simple API, asked of the upstream (PEP 691). */
export const SIMPLE_JSON_ACCEPT = 'application/vnd.pypi.simple.v1+json';

export const upstreamProjectUrl = (upstreamUrl: string, project: string) => `${upstreamUrl.replace(/\/+$/, '')}/${project}/`;

/** One file of an upstream project page. */
export interface IUpstreamPypiFile {
  filename: string;
  /** Absolute, at the upstream. */
  url: string;
  sha256: string;
  requiresPython?: string;
  /** PEP 592: the reason, or '' when none was given. */
  yanked?: string;
  metadataSha256?: string;
  size?: number;
  uploadTime?: string;
}

export interface IUpstreamPypiProject {
  versions: string[];
  files: IUpstreamPypiFile[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const SAFE_FILENAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;

/** A PEP 691 project page; files without a sha256 or with a name we would not store are left out. Null when it is not one. */
export function parseUpstreamProject(body: Buffer, pageUrl: string): IUpstreamPypiProject | null {
  const parsed = parseJsonObject(body);
  if (!parsed || !Array.isArray(parsed.files)) return null;
  const files: IUpstreamPypiFile[] = [];
  for (const entry of parsed.files) {
    if (!isPlainObject(entry) || typeof entry.filename !== 'string' || typeof entry.url !== 'string') continue;
    const sha256 = isPlainObject(entry.hashes) && typeof entry.hashes.sha256 === 'string' ? entry.hashes.sha256.toLowerCase() : '';
    if (!SHA256.test(sha256) || !SAFE_FILENAME.test(entry.filename) || entry.filename.includes('..')) continue;
    let url: string;
    try {
      url = new URL(entry.url, pageUrl).toString();
    } catch {
      continue;
    }
    const metadata = entry['core-metadata'] ?? entry['dist-info-metadata'];
    const metadataSha256 = isPlainObject(metadata) && typeof metadata.sha256 === 'string' && SHA256.test(metadata.sha256) ? metadata.sha256 : undefined;
    files.push({
      filename: entry.filename,
      url,
      sha256,
      ...(typeof entry['requires-python'] === 'string' ? { requiresPython: entry['requires-python'] } : {}),
      ...(entry.yanked === true ? { yanked: '' } : typeof entry.yanked === 'string' ? { yanked: entry.yanked } : {}),
      ...(metadataSha256 ? { metadataSha256 } : {}),
      ...(typeof entry.size === 'number' ? { size: entry.size } : {}),
      ...(typeof entry['upload-time'] === 'string' ? { uploadTime: entry['upload-time'] } : {}),
    });
  }
  const versions = Array.isArray(parsed.versions) ? parsed.versions.filter((v): v is string => typeof v === 'string') : [];
  return { versions, files };
}

/** An upstream file as the simple index renders it. */
function asLink(file: IUpstreamPypiFile, url: string): ISimpleFileLink {
  const rendered: IPypiFile = {
    filename: file.filename,
    release: '',
    packagetype: file.filename.endsWith('.whl') ? 'bdist_wheel' : 'sdist',
    python_version: '',
    ...(file.requiresPython ? { requires_python: file.requiresPython } : {}),
    size: file.size ?? 0,
    digests: { sha256: file.sha256, md5: '', blake2b_256: '' },
    upload_time: file.uploadTime ?? '',
    storage_id: '',
    ...(file.metadataSha256 ? { metadata_sha256: file.metadataSha256 } : {}),
  };
  return { file: rendered, url, ...(file.yanked !== undefined ? { yanked: { reason: file.yanked } } : {}) };
}

/**
 * The project page served for a project the upstream knows: the upstream's files (linked at `fileUrl`,
 * ours) and the local project's, a local file replacing an upstream one of the same name, and the
 * versions of both.
 */
export function mergeProjectPage(
  name: string,
  local: { project: IPypiProject; links: ISimpleFileLink[] } | null,
  upstream: IUpstreamPypiProject,
  fileUrl: (filename: string) => string,
): { project: IPypiProject; links: ISimpleFileLink[] } {
  const localFiles = new Set(local?.links.map((link) => link.file.filename) ?? []);
  const links = [...upstream.files.filter((file) => !localFiles.has(file.filename)).map((file) => asLink(file, fileUrl(file.filename))), ...(local?.links ?? [])];
  const releases: IPypiProject['releases'] = {};
  const info = (version: string) => ({ name, version, classifiers: [], requires_dist: [], provides_extra: [], project_urls: [] });
  for (const version of upstream.versions) releases[version] = { info: info(version), created: '' };
  Object.assign(releases, local?.project.releases ?? {});
  return { project: { name: local?.project.name ?? name, releases, files: {}, serial: local?.project.serial ?? 0 }, links };
}

/** Where to fetch `requested` (a file, or its `.metadata`) and the sha256 it must have; null when the page does not list it. */
export function upstreamFileOf(upstream: IUpstreamPypiProject, requested: string): { url: string; sha256: string; metadata: boolean } | null {
  const direct = upstream.files.find((file) => file.filename === requested);
  if (direct) return { url: direct.url, sha256: direct.sha256, metadata: false };
  if (!requested.endsWith('.metadata')) return null;
  const owner = upstream.files.find((file) => `${file.filename}.metadata` === requested);
  if (!owner?.metadataSha256) return null;
  return { url: `${owner.url.split('#')[0]}.metadata`, sha256: owner.metadataSha256, metadata: true };
}
