/**
 * PyPI wire formats, pure (no I/O): project-name rules (PEP 503/508), distribution file names (wheel
 * and sdist), `Accept` negotiation (PEP 691), the simple index in HTML (PEP 503, 592, 658, 714) and
 * JSON (PEP 691, 700, 714), the JSON API, and core metadata (the wheel's METADATA) parsing.
 */
import * as pep440 from '@renovatebot/pep440';
import { memoizeBounded } from '../core/helpers.memo.js';
import type { IPypiFile, IPypiProject, IPypiRelease, IPypiReleaseInfo, IPypiSearchEntry, TSimpleFormat } from './interfaces.pypi.js';

/** PEP 508 names: letters, digits, `.`, `_`, `-`; start and end with a letter or digit. */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;
const MAX_PROJECT_NAME = 200;

export const isValidProjectName = (name: string) => name.length <= MAX_PROJECT_NAME && PROJECT_NAME.test(name);

/** PEP 503: lower case, runs of `-`, `_`, `.` become one `-`. */
export const normalizeProjectName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** Project names as requests spell them, normalised (null: not a valid name): every GET checks and normalises one, twice. */
export const requestedProjectName = memoizeBounded((name: string) => (isValidProjectName(name) ? normalizeProjectName(name) : null), 10_000);

const PLAIN_RELEASE = /^\d{1,15}(?:\.\d{1,15})*$/;
/** Version strings and file names remembered per function: an upload repeats their parses for every release and file of its project. */
const REMEMBERED_PER_FUNCTION = 100_000;

/**
 * The numbers of a version that is a release segment alone (`1.2.10`, what most uploads carry), or null for
 * anything else (pre, post, dev, local, epoch, numbers past 15 digits). Such versions are compared here
 * without a PEP 440 parse: the library parses both versions again on every call, and an upload compares
 * its version with every one the project holds.
 */
const plainRelease = memoizeBounded(
  (version: string): readonly number[] | null => (PLAIN_RELEASE.test(version) ? version.split('.').map(Number) : null),
  REMEMBERED_PER_FUNCTION,
);


/** PEP 440 order of two release segments: missing trailing parts count as zeros. */
function compareReleases(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** The canonical form of a PEP 440 version (null when it is not one): the key of its release. */
export function canonicalVersion(version: string): string | null {
  const plain = plainRelease(version);
  if (plain) return plain.join('.');
  return pep440.valid(version) ? pep440.clean(version) : null;
}

/** The key of the release `version` names (PEP 440 equality: `2.0` is `2.0.0`), when the project has it. */
export function findReleaseKey(project: IPypiProject, version: string): string | undefined {
  const canonical = canonicalVersion(version);
  if (canonical === null) return undefined;
  if (project.releases[canonical]) return canonical;
  return Object.keys(project.releases).find((key) => sameVersion(key, version));
}

export function sameVersion(a: string, b: string): boolean {
  const plainA = plainRelease(a);
  const plainB = plainRelease(b);
  if (plainA && plainB) return compareReleases(plainA, plainB) === 0;
  return pep440.valid(a) !== null && pep440.valid(b) !== null && pep440.eq(a, b);
}

/** Highest first, by PEP 440. */
export function compareVersionsDescending(a: string, b: string): number {
  const plainA = plainRelease(a);
  const plainB = plainRelease(b);
  return plainA && plainB ? compareReleases(plainB, plainA) : pep440.rcompare(a, b);
}

export const isPrerelease = (version: string) => plainRelease(version) === null && (pep440.explain(version)?.is_prerelease ?? false);

export type TDistribution = { kind: 'wheel'; name: string; version: string } | { kind: 'sdist'; stem: string };

const WHEEL = /^([^-]+)-([^-]+)(?:-(\d[^-]*))?-([^-]+)-([^-]+)-([^-]+)\.whl$/;
const SDIST_SUFFIXES = ['.tar.gz', '.zip'];
const SAFE_FILENAME = /^[A-Za-z0-9][A-Za-z0-9._+!-]*$/;

/** A distribution file name, split by the wheel rules (PEP 427) or as an sdist; null for anything else. */
export function parseDistributionFilename(filename: string): TDistribution | null {
  if (!SAFE_FILENAME.test(filename) || filename.length > 255) return null;
  const wheel = WHEEL.exec(filename);
  if (wheel) return { kind: 'wheel', name: wheel[1], version: wheel[2] };
  const suffix = SDIST_SUFFIXES.find((candidate) => filename.endsWith(candidate));
  if (!suffix || filename.length === suffix.length) return null;
  return { kind: 'sdist', stem: filename.slice(0, -suffix.length) };
}

/**
 * What makes two file names one distribution file to an installer: a wheel's normalised project,
 * version (PEP 440: `1.0` is `1.0.0`), build and tags; an sdist's name in any case. A spelling variant
 * of an uploaded file (`Demo_Pkg-1.0-…` beside `demo_pkg-1.0.0-…`) would be a second file pip picks from.
 */
export function distributionIdentity(filename: string): string {
  const wheel = WHEEL.exec(filename);
  if (!wheel) return `sdist ${filename.toLowerCase()}`;
  const [, name, version, build, ...tags] = wheel;
  // Trailing zeros of the release segment do not count (PEP 440): 1.0, 1.0.0 and 1 are one version.
  const release = (canonicalVersion(version) ?? version).replace(/^((?:\d+!)?\d+(?:\.\d+)*?)(?:\.0+)+(?=[^.\d]|$)/, '$1');
  return ['wheel', normalizeProjectName(name), release, build ?? '', ...tags].join(' ').toLowerCase();
}

/** Distribution identities by file name: an upload checks its file against every file of its project, twice. */
const cachedIdentity = memoizeBounded(distributionIdentity, REMEMBERED_PER_FUNCTION);

/** Does the project hold this distribution file under any spelling of its name? */
export function holdsDistribution(project: IPypiProject, filename: string): boolean {
  if (Object.hasOwn(project.files, filename)) return true;
  const identity = distributionIdentity(filename);
  for (const existing in project.files) {
    if (cachedIdentity(existing) === identity) return true;
  }
  return false;
}

/**
 * Why `filename` cannot be a `filetype` file of `name` at `version`, or null when it can. Wheels
 * name the project (with `_` for separators) and version exactly; sdists are `{name}-{version}`
 * where the name may keep its original spelling (and contain `-`), so every split is tried.
 */
export function filenameMismatch(filename: string, filetype: string, name: string, version: string): string | null {
  const parsed = parseDistributionFilename(filename);
  if (!parsed) return `invalid distribution file name ${JSON.stringify(filename)}`;
  const project = normalizeProjectName(name);
  if (filetype === 'bdist_wheel') {
    if (parsed.kind !== 'wheel') return `a bdist_wheel upload must be a .whl file, got ${JSON.stringify(filename)}`;
    if (normalizeProjectName(parsed.name) !== project) return `wheel ${filename} is not of project ${name}`;
    if (!sameVersion(parsed.version, version)) return `wheel ${filename} is not of version ${version}`;
    return null;
  }
  if (filetype === 'sdist') {
    if (parsed.kind !== 'sdist') return `an sdist upload must be a .tar.gz or .zip file, got ${JSON.stringify(filename)}`;
    const stem = parsed.stem;
    for (let dash = stem.indexOf('-'); dash > 0; dash = stem.indexOf('-', dash + 1)) {
      if (normalizeProjectName(stem.slice(0, dash)) === project && sameVersion(stem.slice(dash + 1), version)) return null;
    }
    return `sdist ${filename} is not ${name} ${version}: expected ${project.replace(/-/g, '_')}-${canonicalVersion(version) ?? version}.tar.gz`;
  }
  return `unsupported filetype ${JSON.stringify(filetype)}: only bdist_wheel and sdist are accepted`;
}

// ---- Accept negotiation (PEP 691) ---------------------------------------------------------------

const SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json';
const SIMPLE_HTML = 'application/vnd.pypi.simple.v1+html';

/** Media types we can answer, in our order of preference when the client likes several equally. */
const OFFERS: { type: string; format: TSimpleFormat }[] = [
  { type: SIMPLE_JSON, format: 'json' },
  { type: 'application/vnd.pypi.simple.latest+json', format: 'json' },
  { type: SIMPLE_HTML, format: 'html-v1' },
  { type: 'application/vnd.pypi.simple.latest+html', format: 'html-v1' },
  { type: 'text/html', format: 'text-html' },
];

export const CONTENT_TYPE_BY_FORMAT: Record<TSimpleFormat, string> = {
  json: SIMPLE_JSON,
  'html-v1': SIMPLE_HTML,
  'text-html': 'text/html; charset=utf-8',
};

/**
 * The simple-index form an `Accept` header asks for, by q-value (RFC 9110 12.5.1): the most specific
 * matching range gives an offer its q; the highest q wins, ties go to the order above. No header:
 * HTML. Null: nothing acceptable (406).
 */
export function negotiateSimpleFormat(accept: string | undefined): TSimpleFormat | null {
  if (!accept || !accept.trim()) return 'text-html';
  const ranges = accept
    .split(',')
    .map((part) => {
      const [type, ...params] = part.split(';').map((piece) => piece.trim());
      let q = 1;
      for (const param of params) {
        const [key, value] = param.split('=').map((piece) => piece.trim());
        if (key.toLowerCase() === 'q') q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value ?? '') ? Number(value) : 0;
      }
      return { type: type.toLowerCase(), q };
    })
    .filter((range) => range.type !== '');
  let best: { format: TSimpleFormat; q: number } | null = null;
  for (const offer of OFFERS) {
    const [major] = offer.type.split('/');
    const matches = (specificity: number, type: string) => ({ specificity, type });
    const hit = ranges
      .map((range) =>
        range.type === offer.type ? matches(3, range.type) : range.type === `${major}/*` ? matches(2, range.type) : range.type === '*/*' ? matches(1, range.type) : null,
      )
      .map((match, index) => (match ? { ...match, q: ranges[index].q } : null))
      .filter((match): match is { specificity: number; type: string; q: number } => match !== null)
      .sort((a, b) => b.specificity - a.specificity)[0];
    // A wildcard alone only ever reaches plain HTML: JSON must be asked for by name.
    if (!hit || hit.q === 0 || (hit.specificity < 3 && offer.format !== 'text-html')) continue;
    if (!best || hit.q > best.q) best = { format: offer.format, q: hit.q };
  }
  return best?.format ?? null;
}

// ---- the simple index ---------------------------------------------------------------------------

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

/** PEP 691 `api-version`: 1.1 is PEP 700 (versions, size, upload-time). */
const API_VERSION = '1.1';

export interface ISimpleFileLink {
  file: IPypiFile;
  url: string;
  yanked?: { reason: string };
}

/** The files of a project as the simple index lists them: upload order, each with its release's yank. */
export function simpleFileLinks(project: IPypiProject, fileUrl: (file: IPypiFile) => string): ISimpleFileLink[] {
  return Object.values(project.files)
    .sort((a, b) => (a.upload_time < b.upload_time ? -1 : a.upload_time > b.upload_time ? 1 : a.filename.localeCompare(b.filename)))
    .map((file) => ({ file, url: fileUrl(file), yanked: project.releases[file.release]?.yanked }));
}

/** Versions of a project (PEP 700), lowest first. */
export const projectVersions = (project: IPypiProject) =>
  Object.values(project.releases)
    .map((release) => release.info.version)
    .sort((a, b) => compareVersionsDescending(b, a));

export function renderSimpleProjectHtml(project: IPypiProject, links: ISimpleFileLink[]): string {
  const rows = links.map(({ file, url, yanked }) => {
    const attributes = [`href="${escapeHtml(`${url}#sha256=${file.digests.sha256}`)}"`];
    if (file.requires_python) attributes.push(`data-requires-python="${escapeHtml(file.requires_python)}"`);
    if (yanked) attributes.push(`data-yanked="${escapeHtml(yanked.reason)}"`);
    if (file.metadata_sha256) {
      const value = `sha256=${file.metadata_sha256}`;
      attributes.push(`data-core-metadata="${value}"`, `data-dist-info-metadata="${value}"`);
    }
    return `    <a ${attributes.join(' ')}>${escapeHtml(file.filename)}</a><br/>`;
  });
  const title = `Links for ${escapeHtml(normalizeProjectName(project.name))}`;
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    `    <title>${title}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${title}</h1>`,
    ...rows,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

export function renderSimpleProjectJson(project: IPypiProject, links: ISimpleFileLink[]): string {
  return JSON.stringify({
    meta: { 'api-version': API_VERSION },
    name: normalizeProjectName(project.name),
    versions: projectVersions(project),
    files: links.map(({ file, url, yanked }) => {
      const metadata = file.metadata_sha256 ? { sha256: file.metadata_sha256 } : false;
      return {
        filename: file.filename,
        url,
        hashes: { sha256: file.digests.sha256 },
        ...(file.requires_python ? { 'requires-python': file.requires_python } : {}),
        size: file.size,
        'upload-time': file.upload_time,
        // PEP 691: a reason string, or true when none was given.
        yanked: yanked ? yanked.reason || true : false,
        // PEP 714: only the new key. pip 22.3 to 23.1 fail on any `dist-info-metadata` in JSON.
        'core-metadata': metadata,
      };
    }),
  });
}

export function renderSimpleRootHtml(names: string[], projectUrl: (name: string) => string): string {
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    '    <title>Simple index</title>',
    '  </head>',
    '  <body>',
    ...names.map((name) => `    <a href="${escapeHtml(projectUrl(name))}">${escapeHtml(name)}</a><br/>`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

export const renderSimpleRootJson = (names: string[]) =>
  JSON.stringify({ meta: { 'api-version': API_VERSION }, projects: names.map((name) => ({ name })) });

// ---- the JSON API -------------------------------------------------------------------------------

/** The release the JSON API describes by default: the highest final one not yanked, else the highest. */
export function latestRelease(project: IPypiProject): IPypiRelease | undefined {
  const releases = Object.values(project.releases).sort((a, b) => compareVersionsDescending(a.info.version, b.info.version));
  return (
    releases.find((release) => !release.yanked && !isPrerelease(release.info.version)) ??
    releases.find((release) => !release.yanked) ??
    releases[0]
  );
}

function jsonApiFile(file: IPypiFile, url: string, release: IPypiRelease | undefined) {
  return {
    comment_text: '',
    digests: { ...file.digests },
    downloads: -1,
    filename: file.filename,
    has_sig: false,
    md5_digest: file.digests.md5,
    packagetype: file.packagetype,
    python_version: file.python_version,
    requires_python: file.requires_python ?? null,
    size: file.size,
    upload_time: file.upload_time.slice(0, 19),
    upload_time_iso_8601: file.upload_time,
    url,
    yanked: Boolean(release?.yanked),
    yanked_reason: release?.yanked?.reason || null,
  };
}

/** `/pypi/{project}/json` (no `release`) and `/pypi/{project}/{version}/json`. */
export function renderJsonApi(
  project: IPypiProject,
  release: IPypiRelease,
  urls: { project: string; release: (version: string) => string; file: (file: IPypiFile) => string },
  withReleases: boolean,
) {
  const key = canonicalVersion(release.info.version) ?? release.info.version;
  const filesOf = (releaseKey: string) =>
    Object.values(project.files)
      .filter((file) => file.release === releaseKey)
      .sort((a, b) => a.filename.localeCompare(b.filename))
      .map((file) => jsonApiFile(file, urls.file(file), project.releases[releaseKey]));
  const info = release.info;
  const projectUrls: Record<string, string> = {};
  for (const entry of info.project_urls) {
    const comma = entry.indexOf(',');
    if (comma > 0) projectUrls[entry.slice(0, comma).trim()] = entry.slice(comma + 1).trim();
  }
  const document: Record<string, unknown> = {
    info: {
      author: info.author ?? '',
      author_email: info.author_email ?? '',
      classifiers: info.classifiers,
      description: info.description ?? '',
      description_content_type: info.description_content_type ?? null,
      download_url: info.download_url ?? '',
      home_page: info.home_page ?? '',
      keywords: info.keywords ?? '',
      license: info.license ?? '',
      maintainer: info.maintainer ?? '',
      maintainer_email: info.maintainer_email ?? '',
      name: project.name,
      package_url: urls.project,
      platform: info.platform ?? null,
      project_url: urls.project,
      project_urls: Object.keys(projectUrls).length ? projectUrls : null,
      provides_extra: info.provides_extra.length ? info.provides_extra : null,
      release_url: urls.release(info.version),
      requires_dist: info.requires_dist.length ? info.requires_dist : null,
      requires_python: info.requires_python ?? '',
      summary: info.summary ?? '',
      version: info.version,
      yanked: Boolean(release.yanked),
      yanked_reason: release.yanked?.reason || null,
    },
    last_serial: project.serial,
    urls: filesOf(key),
    vulnerabilities: [],
  };
  if (withReleases) {
    const releases: Record<string, unknown> = {};
    for (const version of projectVersions(project)) releases[version] = filesOf(canonicalVersion(version) ?? version);
    document.releases = releases;
  }
  return document;
}

// ---- core metadata ------------------------------------------------------------------------------

/**
 * Header fields of a core-metadata file (METADATA, PKG-INFO: RFC 822 style), lower-case names, every
 * value of repeated fields; continuation lines are folded in. The body (description) is not read.
 */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last) {
      last[last.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    last = fields.get(name) ?? [];
    last.push(value);
    fields.set(name, last);
  }
  return fields;
}

/** The release info from the upload form's fields (twine sends the core metadata as form fields). */
export function releaseInfoFromForm(fields: ReadonlyMap<string, string[]>, name: string, version: string): IPypiReleaseInfo {
  const one = (field: string) => {
    const value = fields.get(field)?.[0];
    return value === undefined || value === '' || value === 'UNKNOWN' ? undefined : value;
  };
  const many = (field: string) => (fields.get(field) ?? []).filter((value) => value !== '');
  return {
    name,
    version,
    summary: one('summary'),
    description: one('description'),
    description_content_type: one('description_content_type'),
    author: one('author'),
    author_email: one('author_email'),
    maintainer: one('maintainer'),
    maintainer_email: one('maintainer_email'),
    license: one('license'),
    keywords: one('keywords'),
    home_page: one('home_page'),
    download_url: one('download_url'),
    platform: one('platform'),
    requires_python: one('requires_python'),
    classifiers: many('classifiers'),
    requires_dist: many('requires_dist'),
    provides_extra: many('provides_extras').concat(many('provides_extra')),
    project_urls: many('project_urls'),
  };
}

/** A `*.dist-info/METADATA` member at the top of a wheel (the one of the project's own dist-info). */
export function isWheelMetadataMember(member: string, distribution: string): boolean {
  const match = /^([^/]+)\.dist-info\/METADATA$/.exec(member);
  if (!match) return false;
  const dash = match[1].lastIndexOf('-');
  return dash > 0 && normalizeProjectName(match[1].slice(0, dash)) === normalizeProjectName(distribution);
}

/** A reason phrase for the status line: what twine prints. Printable ASCII only, bounded. */
export const reasonPhrase = (message: string) => message.replace(/[^\x20-\x7e]+/g, ' ').slice(0, 200).trim();

// ---- search entries -----------------------------------------------------------------------------

const MAX_SEARCH_SUMMARY = 512;
const MAX_SEARCH_KEYWORDS = 256;

/** A project's search entry, from its latest release; null when it has none. */
export function toSearchEntry(project: IPypiProject): IPypiSearchEntry | null {
  const release = latestRelease(project);
  if (!release) return null;
  return {
    name: normalizeProjectName(project.name),
    version: release.info.version,
    summary: release.info.summary ?? '',
    keywords: release.info.keywords ?? '',
    serial: project.serial,
  };
}

export const boundSearchEntry = (entry: IPypiSearchEntry): IPypiSearchEntry => ({
  ...entry,
  summary: entry.summary.slice(0, MAX_SEARCH_SUMMARY),
  keywords: entry.keywords.slice(0, MAX_SEARCH_KEYWORDS),
});

/** Words a project is found by: its name (whole and by part), keywords and summary. */
export function searchWords(entry: IPypiSearchEntry): string[] {
  const lower = (text: string) => text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return [entry.name, ...lower(entry.name), ...lower(entry.keywords), ...lower(entry.summary)];
}

/** The exact name first, then names starting with the query, then the rest. */
export const searchRanker = (query: string) => {
  const wanted = normalizeProjectName(query.trim());
  return (name: string) => (name === wanted ? 0 : name.startsWith(wanted) ? 1 : 2);
};
