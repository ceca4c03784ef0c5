import * as crypto from 'node:crypto';

/** The document `npm publish` sends for one version of `name`, with its tarball attached and `manifest`'s fields. */
export function npmPublishBody(name: string, version: string, tarball: Buffer, manifest: Record<string, unknown> = {}): Buffer {
  const file = `${name.slice(name.indexOf('/') + 1)}-${version}.tgz`;
  return Buffer.from(
    JSON.stringify({
      _id: name,
      name,
      'dist-tags': { latest: version },
      versions: {
        [version]: {
          name,
          version,
          ...manifest,
          _id: `${name}@${version}`,
          dist: {
            integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
            shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
            tarball: `http://ignored.example.com/npm/${name}/-/${file}`,
          },
        },
      },
      _attachments: { [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length } },
    }),
  );
}
