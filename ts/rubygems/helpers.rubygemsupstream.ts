/**
 * RubyGems' formats for the upstream proxy (pure): the upstream's compact index `/versions` merged with
 * the local one (a gem held here is listed only as it is here), and the sha256 an upstream `/info/{gem}`
 * file names for one version's `.gem`.
 */

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
