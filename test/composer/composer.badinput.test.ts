/**
 * Uploads Composer's repository refuses: each gets a clear 4xx in `{ status: "error", message }` and
 * leaves storage exactly as it was (the zip is stored while it streams, then removed again).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { zipBuffer } from '../core/archive/zipwriter.js';
import { createComposerRegistry, makePackageZip, type IComposerTestRegistry } from './fixtures.js';

describe('composer: bad uploads store nothing', () => {
  let r: IComposerTestRegistry;
  before(async () => {
    r = await createComposerRegistry({ limits: { maxArtifactBytes: 64 * 1024 }, registryOptions: { maxUnpackedBytes: 1024 * 1024 } });
    assert.equal((await r.upload('acme/foo', await makePackageZip('acme/foo', '1.0.0'))).status, 201);
  });
  after(() => r.close());

  const refused = async (what: string, body: Buffer, expected: { status: number; message: RegExp }, options: { name?: string; version?: string } = {}) => {
    const before = await r.keys();
    const res = await r.upload(options.name ?? 'acme/foo', body, { version: options.version });
    assert.equal(res.status, expected.status, `${what}: ${res.text}`);
    assert.equal(res.json.status, 'error', what);
    assert.match(res.json.message, expected.message, what);
    assert.deepEqual(await r.keys(), before, `${what}: storage unchanged`);
  };

  it('a zip without composer.json', async () =>
    refused('no composer.json', await zipBuffer([{ name: 'pkg/src/A.php', data: Buffer.from('<?php\n') }]), {
      status: 400,
      message: /no composer\.json at its root or in its one top folder/,
    }));

  it('composer.json two folders deep or beside another top folder', async () => {
    await refused('two deep', await zipBuffer([{ name: 'a/b/composer.json', data: Buffer.from('{"name":"acme/foo","version":"2.0.0"}') }]), { status: 400, message: /no composer\.json/ });
    await refused(
      'two tops',
      await zipBuffer([
        { name: 'a/composer.json', data: Buffer.from('{"name":"acme/foo","version":"2.0.0"}') },
        { name: 'b/x.php', data: Buffer.from('x') },
      ]),
      { status: 400, message: /no composer\.json/ },
    );
  });

  it('an invalid composer.json', async () => {
    await refused('not JSON', await makePackageZip('acme/foo', '2.0.0', { composerJson: '{"name": "acme/foo",' }), { status: 400, message: /composer\.json is not valid JSON/ });
    await refused('not an object', await makePackageZip('acme/foo', '2.0.0', { composerJson: '"acme/foo"' }), { status: 400, message: /must hold a JSON object/ });
    await refused('bad field', await makePackageZip('acme/foo', '2.0.0', { extra: { require: ['php'] } }), { status: 400, message: /"require" has the wrong type/ });
  });

  it('a name that is not the URL\'s', () =>
    makePackageZip('acme/bar', '2.0.0').then((zip) => refused('mismatch', zip, { status: 400, message: /composer\.json names package acme\/bar, but the upload is for acme\/foo/ })));

  it('an invalid, missing or disagreeing version', async () => {
    await refused('invalid', await makePackageZip('acme/foo', '2.0.0-meh'), { status: 400, message: /invalid version "2\.0\.0-meh"/ });
    await refused('alias', await makePackageZip('acme/foo', '2.0.0', { version: '2.0.0 as 3.0.0' }), { status: 400, message: /whitespace/ });
    await refused('none', await makePackageZip('acme/foo', '2.0.0', { version: null }), { status: 400, message: /no version: give one as \?version=/ });
    await refused('query invalid', await makePackageZip('acme/foo', '2.0.0', { version: null }), { status: 400, message: /invalid version "latest"/ }, { version: 'latest' });
    await refused('disagree', await makePackageZip('acme/foo', '2.0.0'), { status: 400, message: /\?version=3\.0\.0 disagrees with composer\.json's version 2\.0\.0/ }, { version: '3.0.0' });
  });

  it('a zip bomb: composer.json larger than it declares, declared too large, or members declaring too much', async () => {
    const json = Buffer.from(`{"name":"acme/foo","version":"2.0.0","description":"${' '.repeat(8000)}"}`);
    await refused('lying composer.json', await zipBuffer([{ name: 'composer.json', data: json, method: 'deflate', declaredSize: 100 }]), {
      status: 400,
      message: /holds more than the 100 bytes its directory entry declares/,
    });
    await refused('huge composer.json', await zipBuffer([{ name: 'composer.json', data: Buffer.alloc(2 * 1024 * 1024, 0x20), method: 'deflate' }]), {
      status: 413,
      message: /over the limit of 1048576/,
    });
    await refused(
      'inflates past the limit',
      await zipBuffer([
        { name: 'composer.json', data: Buffer.from('{"name":"acme/foo","version":"2.0.0"}') },
        { name: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024), method: 'deflate' },
      ]),
      { status: 413, message: /declare 2097\d+ bytes, over the limit of 1048576/ },
    );
  });

  it('an upload over the size limit', () =>
    zipBuffer([
      { name: 'composer.json', data: Buffer.from('{"name":"acme/foo","version":"2.0.0"}') },
      { name: 'random.bin', data: Buffer.from(Array.from({ length: 70 * 1024 }, (_, i) => (i * 7919) % 251)) },
    ]).then((zip) => refused('too large', zip, { status: 413, message: /65536/ })));

  it('traversal in member names', async () => {
    for (const name of ['../evil.php', '/etc/evil.php', 'pkg/../../evil.php', 'C:evil.php', 'a\\..\\evil.php']) {
      await refused(name, await zipBuffer([{ name: 'composer.json', data: Buffer.from('{"name":"acme/foo","version":"2.0.0"}') }, { name, data: Buffer.from('x') }]), {
        status: 400,
        message: /archive member name/,
      });
    }
  });

  it('a body that is no zip, and an empty body', async () => {
    await refused('no zip', Buffer.from('this is not a zip archive at all, just text'), { status: 400, message: /not a readable zip archive/ });
    await refused('empty', Buffer.alloc(0), { status: 400, message: /the upload is empty/ });
  });

  it('an invalid package name in the URL', async () => {
    await refused('upper case', await makePackageZip('acme/foo', '2.0.0'), { status: 400, message: /invalid package name "Acme\/Foo"/ }, { name: 'Acme/Foo' });
    await refused('dots', await makePackageZip('acme/foo', '2.0.0'), { status: 400, message: /invalid package name/ }, { name: 'acme/foo..bar' });
  });
});
