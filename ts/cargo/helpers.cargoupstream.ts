/**
 * Cargo's formats for the upstream proxy (pure): the upstream's sparse index file and `config.json`,
 * the merge of an upstream index file with the local one (local versions win), and the download URL
 * of a version from the upstream's `dl` template.
 */
import { indexPathOf, sameVersion } from './helpers.cargo.js';
import { withoutSchemeMarker } from '../upstream/helpers.upstreamselect.js';

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The upstream's index root: its URL, without cargo's `sparse+` marker. */
const indexRoot = (upstreamUrl: string) => trimSlash(withoutSchemeMarker(upstreamUrl));

export const upstreamIndexUrl = (upstreamUrl: string, name: string) => `${indexRoot(upstreamUrl)}/${indexPathOf(name)}`;
export const upstreamConfigUrl = (upstreamUrl: string) => `${indexRoot(upstreamUrl)}/config.json`;

/** One index line, with what the proxy needs of it. */
export interface IIndexLine {
  name: string;
  vers: string;
  cksum: string;
  line: string;
}

/** The lines of an index file that parse and name `name` (compared case-insensitively, as index paths are). */
export function parseIndexFile(body: Buffer | string, name: string): IIndexLine[] {
  const lines: IIndexLine[] = [];
  for (const line of body.toString().split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { name?: unknown; vers?: unknown; cksum?: unknown };
      if (typeof entry.name !== 'string' || entry.name.toLowerCase() !== name.toLowerCase()) continue;
      if (typeof entry.vers !== 'string' || typeof entry.cksum !== 'string' || !/^[0-9a-f]{64}$/.test(entry.cksum)) continue;
      lines.push({ name: entry.name, vers: entry.vers, cksum: entry.cksum, line });
    } catch {
      // a line we cannot read is left out
    }
  }
  return lines;
}

/** The index file served for a crate the upstream knows: its lines, each replaced by a local line of the same version. */
export function mergeIndexFiles(local: IIndexLine[], upstream: IIndexLine[]): string {
  const merged = upstream.filter((line) => !local.some((own) => sameVersion(own.vers, line.vers)));
  return [...merged, ...local].map((line) => `${line.line}\n`).join('');
}

/**
 * The download URL of a version by the upstream's `dl` (cargo's rules): markers `{crate}`, `{version}`,
 * `{prefix}`, `{lowerprefix}`, `{sha256-checksum}` are filled in; without any, `/{crate}/{version}/download`
 * is appended.
 */
export function downloadUrl(dl: string, line: IIndexLine): string {
  const markers: Record<string, string> = {
    '{crate}': line.name,
    '{version}': line.vers,
    '{prefix}': prefixOf(line.name),
    '{lowerprefix}': prefixOf(line.name.toLowerCase()),
    '{sha256-checksum}': line.cksum,
  };
  if (!Object.keys(markers).some((marker) => dl.includes(marker))) return `${trimSlash(dl)}/${line.name}/${line.vers}/download`;
  return dl.replace(/\{crate\}|\{version\}|\{prefix\}|\{lowerprefix\}|\{sha256-checksum\}/g, (marker) => encodeURIComponent(markers[marker]).replace(/%2F/g, '/'));
}

/** The index directory of a name, in the name's own case (`{prefix}`). */
const prefixOf = (name: string) => (name.length <= 2 ? String(name.length) : name.length === 3 ? `3/${name[0]}` : `${name.slice(0, 2)}/${name.slice(2, 4)}`);

/** `dl` of an upstream's `config.json`; null when it has none. */
export function parseUpstreamConfig(body: Buffer): string | null {
  try {
    const config = JSON.parse(body.toString('utf8')) as { dl?: unknown };
    return typeof config.dl === 'string' && /^https?:\/\//.test(config.dl) ? config.dl : null;
  } catch {
    return null;
  }
}
