/** Images pushed into an upstream SmartRegistry through handleRequest, for the OCI proxy tests. */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { sendRequest } from '../helpers/requests.js';

export const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-password').toString('base64')}` };
export const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

export interface IPushedImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  layers: Buffer[];
  /** Config and layer digests. */
  blobs: string[];
}

export async function pushBlob(registry: SmartRegistry, name: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const response = await sendRequest(registry, 'POST', `/oci/v2/${name}/blobs/uploads/?digest=${digest}`, { headers: ADMIN, body: bytes });
  assert.equal(response.status, 201, response.text);
  return digest;
}

/** An image of random layers, tagged `tag` in `name`. */
export async function pushImage(registry: SmartRegistry, name: string, tag: string, layerSizes: number[] = [1024, 300 * 1024]): Promise<IPushedImage> {
  // Gzip streams, as the layer media type says (random bytes, so the sizes stay as asked).
  const layers = layerSizes.map((size) => zlib.gzipSync(crypto.randomBytes(size), { level: 0 }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((layer) => sha256(zlib.gunzipSync(layer))) } }));
  const blobs = [await pushBlob(registry, name, config)];
  for (const layer of layers) blobs.push(await pushBlob(registry, name, layer));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length },
      layers: layers.map((layer, index) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[index + 1], size: layer.length })),
    }),
  );
  const response = await sendRequest(registry, 'PUT', `/oci/v2/${name}/manifests/${tag}`, {
    headers: { ...ADMIN, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  assert.equal(response.status, 201, response.text);
  return { manifest, manifestDigest: sha256(manifest), config, layers, blobs };
}
