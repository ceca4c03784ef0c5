/**
 * RubyGems' formats for the upstream proxy (pure): the upstream's compact index `/versions` merged with
 * the local one (a gem held here is listed only as it is here), the gems and versions a merged
 * `/versions` serves (for `/names` and the Marshal specs files), and what an upstream `/info/{gem}`
 * file says: the sha256 of one version's `.gem`, and the dependency API's entries.
 */
import { parseJsonObject } from '../core/helpers.json.js';
import type { IServedVersion, TServedIndex } from './interfaces.rubygems.js';

/** A path below an upstream gem source (its root, where `/versions` is). */
export const upstreamGemSourceUrl = (upstreamUrl: string, path: string) => `${upstreamUrl.replace(/\/+$/, '')}/${path}`;

const SHA256 = /^[0-9a-f]{64}$/;

/** The header's `created_at` and the lines of a `/versions` file; null when the body is none. */
export function parseVersionsFile(body: Buffer): { createdAt: string; lines: string[] } | null {
  const text = body.toString('utf8');
  const separator = text.indexOf('\n---\n');
  if (!text.startsWith('created_at: ') || separator === -1) return null;
  return { createdAt: text.slice('created_at: '.length, separator), lines: text.slice(separator + 5).split('\n').filter((line) => line !== '') };
}

const nameOfLine = (line: string) => line.slice(0, line.indexOf(' '));

/**
 * `/versions` served by a proxy: each upstream's lines (by priority) for the names it may answer for
 * and no earlier source holds, then the local lines; a gem held here is listed only as it is here.
 * Upstream `/info` files are served unchanged, so the MD5s in their lines stay true.
 */
export function mergeVersionsFiles(
  createdAt: string,
  upstreams: ReadonlyArray<{ lines: readonly string[]; accepts: (name: string) => boolean }>,
  localNames: ReadonlySet<string>,
  localLines: string,
): string {
  const taken = new Set(localNames);
  let merged = '';
  for (const upstream of upstreams) {
    const owned = new Set<string>();
    for (const line of upstream.lines) {
      const name = nameOfLine(line);
      if (!owned.has(name) && (taken.has(name) || !upstream.accepts(name))) continue;
      owned.add(name);
      merged += `${line}\n`;
    }
    for (const name of owned) taken.add(name);
  }
  return `created_at: ${createdAt}\n---\n${merged}${localLines}`;
}

/**
 * The `checksum` (sha256 of the `.gem`) an `/info/{gem}` file gives for `version` (`1.0` or
 * `1.0-x86_64-linux`); null when it does not list the version or gives no usable checksum.
 */
export function infoChecksum(info: Buffer, version: string): string | null {
  for (const line of info.toString('utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1 || line.slice(0, space) !== version) continue;
    const requirements = line.slice(line.indexOf('|') + 1).split(',');
    const checksum = requirements.find((requirement) => requirement.startsWith('checksum:'))?.slice('checksum:'.length).toLowerCase();
    return checksum && SHA256.test(checksum) ? checksum : null;
  }
  return null;
}

/** `1.0` or `1.0-x86_64-linux` as the compact index writes it: the platform follows the first `-`, as bundler reads it. */
function servedVersionOf(full: string): IServedVersion {
  const dash = full.indexOf('-');
  return dash === -1 ? { version: full, platform: 'ruby' } : { version: full.slice(0, dash), platform: full.slice(dash + 1) };
}

/**
 * The versions each gem serves after replaying `/versions` lines in order (`1.1` added, `-1.0` taken
 * away), as clients read the file: what `/names` and the specs files list for upstream gems.
 */
export function servedIndexOfVersionsLines(lines: readonly string[]): TServedIndex {
  const gems = new Map<string, Map<string, IServedVersion>>();
  for (const line of lines) {
    const [name, changes] = line.split(' ');
    if (!name || !changes) continue;
    const versions = gems.get(name) ?? new Map<string, IServedVersion>();
    gems.set(name, versions);
    for (const change of changes.split(',')) {
      if (change.startsWith('-')) versions.delete(change.slice(1));
      else if (change !== '') versions.set(change, servedVersionOf(change));
    }
  }
  return Object.fromEntries([...gems].map(([name, versions]) => [name, [...versions.values()]]));
}

/** One version in the legacy dependency API (`/api/v1/dependencies`). */
export interface IDependencyEntry {
  name: string;
  number: string;
  platform: string;
  /** Runtime dependencies: name and requirements joined by `, `. */
  dependencies: [string, string][];
}

/** The dependency API's entries for a gem, read from its `/info` file (which lists runtime dependencies only, as that API does). */
export function dependencyEntriesOfInfo(name: string, info: Buffer): IDependencyEntry[] {
  const entries: IDependencyEntry[] = [];
  for (const line of info.toString('utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const { version, platform } = servedVersionOf(line.slice(0, space));
    const bar = line.indexOf('|', space);
    const listed = line.slice(space + 1, bar === -1 ? undefined : bar);
    const dependencies = listed
      .split(',')
      .filter((dependency) => dependency.includes(':'))
      .map((dependency): [string, string] => {
        const colon = dependency.indexOf(':');
        return [dependency.slice(0, colon), dependency.slice(colon + 1).split('&').join(', ')];
      });
    entries.push({ name, number: version, platform, dependencies });
  }
  return entries;
}

/**
 * An upstream's `/api/v1/gems/{gem}.json` with its links to itself (`gem_uri`, `project_uri`) pointing
 * here instead; null when it is not a JSON object.
 */
export function gemJsonWithOurUrls(body: Buffer, baseUrl: string): Buffer | null {
  const fields = parseJsonObject(body);
  if (!fields) return null;
  const name = fields.name;
  if (typeof name !== 'string') return null;
  if (typeof fields.gem_uri === 'string') fields.gem_uri = `${baseUrl}/gems/${fields.gem_uri.slice(fields.gem_uri.lastIndexOf('/') + 1)}`;
  if ('project_uri' in fields) fields.project_uri = `${baseUrl}/api/v1/gems/${name}.json`;
  return Buffer.from(JSON.stringify(fields), 'utf8');
}
