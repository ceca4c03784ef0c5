// OCI online garbage collection and retention through handleRequest, on the filesystem.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createOciFixture, listFiles, sha256, type IOciFixture } from './oci.fixtures.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Storage keys of one blob: its record and its data parts (what `oci/blobs/...` names). */
const blobRecordFile = (digest: string) => `oci/blobs/${digest.replace(':', '/')}.json`;
const linkFile = (repository: string, digest: string) => `oci/repositories/${repository}/_layers/${digest.replace(':', '/')}`;

describe('oci: garbage collection', () => {
  let fixture: IOciFixture;
  afterEach(async () => fixture?.cleanup());

  it('two images sharing layers, one deleted: a dry run lists its unique blobs and deletes nothing; the collection removes exactly them; the other still pulls', async () => {
    fixture = await createOciFixture({ oci: { garbageCollection: { gracePeriod: '0s' } } });
    const kept = await fixture.pushImage('gc/app', 'kept', ['shared layer', 'kept layer']);
    const gone = await fixture.pushImage('gc/app', 'gone', ['shared layer', 'gone layer']);
    assert.equal((await fixture.call('DELETE', `/v2/gc/app/manifests/${gone.digest}`)).status, 202);
    const goneBlobs = [gone.config, sha256('gone layer')];
    const before = await listFiles(fixture.dataDir);
    for (const digest of goneBlobs) assert.ok(before.includes(blobRecordFile(digest)), `${digest} is stored before`);

    const dry = await fixture.oci.collectGarbage({ dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.blobs.map((blob) => blob.digest).sort(), [...goneBlobs].sort());
    assert.deepEqual(dry.links.map((link) => `${link.repository}@${link.digest}`).sort(), goneBlobs.map((digest) => `gc/app@${digest}`).sort());
    const goneBytes = Buffer.byteLength('gone layer') + (await fixture.call('GET', `/v2/gc/app/blobs/${gone.config}`)).body.length;
    assert.equal(dry.bytesReclaimed, goneBytes);
    assert.deepEqual(await listFiles(fixture.dataDir), before, 'a dry run changes nothing');

    const report = await fixture.oci.collectGarbage();
    assert.equal(report.dryRun, false);
    assert.deepEqual(report.blobs.map((blob) => blob.digest).sort(), [...goneBlobs].sort());
    assert.equal(report.bytesReclaimed, goneBytes);
    const after = await listFiles(fixture.dataDir);
    const removed = before.filter((file) => !after.includes(file));
    assert.deepEqual(after.filter((file) => !before.includes(file)), [], 'nothing new is written');
    // Each removed blob: its link, its record and its one data part.
    assert.equal(removed.length, goneBlobs.length * 3, removed.join('\n'));
    for (const digest of goneBlobs) {
      assert.ok(removed.includes(blobRecordFile(digest)));
      assert.ok(removed.includes(linkFile('gc/app', digest)));
      assert.equal((await fixture.call('GET', `/v2/gc/app/blobs/${digest}`)).code, 'BLOB_UNKNOWN');
    }
    assert.equal(removed.filter((file) => file.startsWith('oci/blob-data/')).length, goneBlobs.length);

    const manifest = await fixture.call('GET', '/v2/gc/app/manifests/kept');
    assert.equal(manifest.status, 200);
    assert.ok(manifest.body.equals(kept.bytes));
    for (const digest of [kept.config, ...kept.layers]) {
      const blob = await fixture.call('GET', `/v2/gc/app/blobs/${digest}`);
      assert.equal(blob.status, 200, digest);
      assert.equal(sha256(blob.body), digest);
    }
    const again = await fixture.oci.collectGarbage();
    assert.deepEqual([again.blobs, again.links, again.manifests, again.tags], [[], [], [], []], 'a second collection finds nothing');
  });

  it('a blob another repository still links keeps its bytes; only the link of the repository that dropped it goes', async () => {
    fixture = await createOciFixture({ oci: { garbageCollection: { gracePeriod: '0s' } } });
    const first = await fixture.pushImage('gc/one', 'latest', ['common layer']);
    const second = await fixture.pushImage('gc/two', 'latest', ['common layer']);
    assert.equal((await fixture.call('DELETE', `/v2/gc/one/manifests/${first.digest}`)).status, 202);
    const report = await fixture.oci.collectGarbage();
    assert.equal(first.config, second.config, 'both images have the same config');
    assert.deepEqual(report.blobs, [], 'every blob is still linked by gc/two');
    assert.deepEqual(report.links.map((link) => link.repository), ['gc/one', 'gc/one']);
    assert.equal((await fixture.call('GET', `/v2/gc/one/blobs/${sha256('common layer')}`)).code, 'BLOB_UNKNOWN');
    const blob = await fixture.call('GET', `/v2/gc/two/blobs/${sha256('common layer')}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.body.toString(), 'common layer');
  });

  it('nothing younger than the grace period goes: a blob uploaded but not yet referenced, an image just deleted', async () => {
    fixture = await createOciFixture();
    const image = await fixture.pushImage('gc/young', 'latest', ['young layer']);
    await fixture.pushBlob('gc/young', 'uploaded, manifest still to come');
    assert.equal((await fixture.call('DELETE', `/v2/gc/young/manifests/${image.digest}`)).status, 202);
    const before = await listFiles(fixture.dataDir);
    const report = await fixture.oci.collectGarbage();
    assert.deepEqual([report.blobs, report.links, report.manifests, report.tags, report.uploads], [[], [], [], [], []]);
    assert.deepEqual(await listFiles(fixture.dataDir), before);
  });

  it('abandoned upload sessions go with their data; a dry run only lists them', async () => {
    fixture = await createOciFixture({ oci: { garbageCollection: { gracePeriod: '0s', uploadMaxAge: '0s' } } });
    const started = await fixture.call('POST', '/v2/gc/uploads/blobs/uploads/');
    assert.equal(started.status, 202);
    const location = started.headers.Location ?? started.headers.location;
    assert.equal((await fixture.call('PATCH', location, { body: Buffer.from('half a layer') })).status, 202);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const dry = await fixture.oci.collectGarbage({ dryRun: true });
    assert.deepEqual(dry.uploads.map((upload) => [upload.repository, upload.size]), [['gc/uploads', 12]]);
    assert.ok((await listFiles(fixture.dataDir)).some((file) => file.startsWith('oci/uploads/')));
    const report = await fixture.oci.collectGarbage();
    assert.deepEqual(report.uploads, dry.uploads);
    assert.equal(report.bytesReclaimed, 12);
    const after = await listFiles(fixture.dataDir);
    assert.deepEqual(after.filter((file) => file.startsWith('oci/uploads/') || file.startsWith('oci/blob-data/')), []);
  });
});

/** A storage hook that holds every delete of a key matching `pattern` until released; `atDelete` resolves at the first. */
function pausedDelete(pattern: RegExp) {
  let reached!: () => void;
  let release!: () => void;
  const atDelete = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    atDelete,
    release,
    hooks: {
      async beforeDelete(context: { key: string }) {
        if (!pattern.test(context.key)) return;
        reached();
        await released;
      },
    },
  };
}

describe('oci: a collection and a push on the same object', () => {
  let fixture: IOciFixture;
  afterEach(async () => fixture?.cleanup());

  it('a HEAD between the collector\'s listing and its delete holds the link: the delete fails, the manifest push that follows succeeds', async () => {
    const pause = pausedDelete(/\/_layers\//);
    fixture = await createOciFixture({ hooks: pause.hooks, oci: { garbageCollection: { gracePeriod: '0s' } } });
    const old = await fixture.pushImage('race/app', 'old', ['reused layer']);
    assert.equal((await fixture.call('DELETE', `/v2/race/app/manifests/${old.digest}`)).status, 202);
    const collection = fixture.oci.collectGarbage();
    await pause.atDelete; // the collector listed the unreferenced links and is about to delete one
    const reused = sha256('reused layer');
    assert.equal((await fixture.call('HEAD', `/v2/race/app/blobs/${reused}`)).status, 200);
    assert.equal((await fixture.call('HEAD', `/v2/race/app/blobs/${old.config}`)).status, 200);
    pause.release();
    const report = await collection;
    assert.deepEqual(report.links, [], 'both deletes failed on the changed etag');
    assert.deepEqual(report.blobs, []);
    const manifest = { ...JSON.parse(old.bytes.toString()), annotations: { again: 'yes' } };
    assert.equal((await fixture.pushManifest('race/app', 'again', manifest)).status, 201);
    for (const digest of [old.config, reused]) {
      const blob = await fixture.call('GET', `/v2/race/app/blobs/${digest}`);
      assert.equal(sha256(blob.body), digest);
    }
  });

  it('an upload of a stored blob between the collector\'s listing and its delete of the record keeps the record; the new repository serves it', async () => {
    const pause = pausedDelete(/^oci\/blobs\//);
    fixture = await createOciFixture({ hooks: pause.hooks, oci: { garbageCollection: { gracePeriod: '0s' } } });
    const digest = await fixture.pushBlob('race/old', 'a layer pushed again');
    assert.equal((await fixture.call('DELETE', `/v2/race/old/blobs/${digest}`)).status, 202);
    const collection = fixture.oci.collectGarbage();
    await pause.atDelete; // about to delete the record no repository links
    await fixture.pushBlob('race/new', 'a layer pushed again');
    pause.release();
    const report = await collection;
    assert.deepEqual(report.blobs, [], 'the record was held: its delete failed');
    const blob = await fixture.call('GET', `/v2/race/new/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.body.toString(), 'a layer pushed again');
  });

  it('a delete that lands first wins: HEAD answers 404 and a manifest naming the blob is MANIFEST_BLOB_UNKNOWN, storage unchanged', async () => {
    fixture = await createOciFixture({ oci: { garbageCollection: { gracePeriod: '0s' } } });
    const old = await fixture.pushImage('race/late', 'old', ['late layer']);
    assert.equal((await fixture.call('DELETE', `/v2/race/late/manifests/${old.digest}`)).status, 202);
    await fixture.oci.collectGarbage();
    assert.equal((await fixture.call('HEAD', `/v2/race/late/blobs/${sha256('late layer')}`)).status, 404);
    const before = await listFiles(fixture.dataDir);
    const manifest = { ...JSON.parse(old.bytes.toString()), annotations: { again: 'yes' } };
    assert.equal((await fixture.pushManifest('race/late', 'again', manifest)).code, 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual(await listFiles(fixture.dataDir), before);
  });
});

describe('oci: retention rules', () => {
  let fixture: IOciFixture;
  afterEach(async () => fixture?.cleanup());

  it('keepNewest and keepTags: older tags go with their manifests and unique layers; matching and newest tags stay; other repositories are untouched', async () => {
    fixture = await createOciFixture({
      oci: { garbageCollection: { gracePeriod: '0s' }, retention: [{ repositories: 'team/*', keepNewest: 2, keepTags: ['v*', 'stable'] }] },
    });
    const pushed: Record<string, Awaited<ReturnType<IOciFixture['pushImage']>>> = {};
    for (const tag of ['v1', 'build-1', 'build-2', 'stable', 'build-3', 'build-4']) {
      pushed[tag] = await fixture.pushImage('team/app', tag, ['team base', `only in ${tag}`]);
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct push times
    }
    const other = await fixture.pushImage('solo/app', 'build-0', ['only in solo']);
    await fixture.pushImage('solo/app', 'build-9', ['only in solo 9']);

    const events: { action: string; resource: string | null; version?: string; actor: unknown }[] = [];
    fixture.registry.on('event', (event) => events.push(event));
    const dry = await fixture.oci.collectGarbage({ dryRun: true });
    assert.deepEqual(dry.tags.map((tag) => tag.tag).sort(), ['build-1', 'build-2']);
    assert.equal(events.length, 0, 'a dry run is not audited');
    assert.equal((await fixture.call('GET', '/v2/team/app/tags/list')).json.tags.length, 6, 'a dry run removes no tag');

    const report = await fixture.oci.collectGarbage();
    assert.deepEqual(report.tags.map((tag) => `${tag.repository}:${tag.tag}`).sort(), ['team/app:build-1', 'team/app:build-2']);
    assert.deepEqual(
      events.map((event) => `${event.action} ${event.resource} ${event.version} ${event.actor}`).sort(),
      [
        'delete team/app build-1 null',
        'delete team/app build-2 null',
        `delete team/app ${pushed['build-1']!.digest} null`,
        `delete team/app ${pushed['build-2']!.digest} null`,
        'gc null undefined null',
      ].sort(),
      'each removal is audited, and the collection',
    );
    assert.deepEqual(report.manifests.map((manifest) => manifest.digest).sort(), [pushed['build-1']!.digest, pushed['build-2']!.digest].sort());
    assert.deepEqual(
      report.blobs.map((blob) => blob.digest).sort(),
      [pushed['build-1']!.config, pushed['build-2']!.config, sha256('only in build-1'), sha256('only in build-2')].sort(),
    );
    assert.deepEqual((await fixture.call('GET', '/v2/team/app/tags/list')).json.tags, ['build-3', 'build-4', 'stable', 'v1']);
    for (const tag of ['v1', 'stable', 'build-3', 'build-4']) {
      const manifest = await fixture.call('GET', `/v2/team/app/manifests/${tag}`);
      assert.ok(manifest.body.equals(pushed[tag]!.bytes), tag);
      for (const digest of pushed[tag]!.layers) assert.equal((await fixture.call('GET', `/v2/team/app/blobs/${digest}`)).status, 200);
    }
    assert.equal((await fixture.call('GET', `/v2/team/app/manifests/${pushed['build-1']!.digest}`)).code, 'MANIFEST_UNKNOWN');
    assert.equal((await fixture.call('GET', `/v2/solo/app/manifests/${other.digest}`)).status, 200, 'no rule matches solo/app');
  });

  it('deleteUntaggedAfter: untagged manifests go unless a kept index or a kept subject references them', async () => {
    fixture = await createOciFixture({
      oci: { garbageCollection: { gracePeriod: '0s' }, retention: [{ repositories: '*', deleteUntaggedAfter: '0s' }] },
    });
    const tagged = await fixture.pushImage('gc/untagged', 'latest', ['tagged layer']);
    const child = await fixture.pushImage('gc/untagged', 'child-tmp', ['child layer']);
    const loose = await fixture.pushImage('gc/untagged', 'loose-tmp', ['loose layer']);
    // Untag the child and the loose image: the tag goes, the manifest stays untagged.
    for (const tag of ['child-tmp', 'loose-tmp']) assert.equal((await fixture.call('DELETE', `/v2/gc/untagged/manifests/${tag}`)).status, 202);
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.bytes.length, platform: { os: 'linux', architecture: 'arm64' } }],
    };
    assert.equal((await fixture.pushManifest('gc/untagged', 'multi', index, OCI_INDEX)).status, 201);
    const signatureConfig = await fixture.pushBlob('gc/untagged', '{}');
    const signature = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: signatureConfig, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: signatureConfig, size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: tagged.digest, size: tagged.bytes.length },
      }),
    );
    assert.equal((await fixture.pushManifest('gc/untagged', sha256(signature), signature, OCI_MANIFEST)).status, 201);

    const report = await fixture.oci.collectGarbage();
    assert.deepEqual(report.manifests.map((manifest) => manifest.digest), [loose.digest]);
    assert.deepEqual(report.blobs.map((blob) => blob.digest).sort(), [loose.config, sha256('loose layer')].sort());
    assert.equal((await fixture.call('GET', `/v2/gc/untagged/manifests/${child.digest}`)).status, 200, 'the index keeps its child');
    assert.equal((await fixture.call('GET', `/v2/gc/untagged/manifests/${sha256(signature)}`)).status, 200, 'the subject keeps its referrer');
    const referrers = await fixture.call('GET', `/v2/gc/untagged/referrers/${tagged.digest}`);
    assert.deepEqual(referrers.json.manifests.map((descriptor: { digest: string }) => descriptor.digest), [sha256(signature)]);

    // The subject deleted: its referrer is untagged and unreferenced now, and goes with its referrers entry.
    assert.equal((await fixture.call('DELETE', `/v2/gc/untagged/manifests/${tagged.digest}`)).status, 202);
    const second = await fixture.oci.collectGarbage();
    assert.deepEqual(second.manifests.map((manifest) => manifest.digest), [sha256(signature)]);
    assert.ok(!(await listFiles(fixture.dataDir)).some((file) => file.includes('/_referrers/')), 'no referrers entry is left');
  });

  it('a bad retention rule or duration is refused at start with the setting named', async () => {
    await assert.rejects(createOciFixture({ oci: { retention: [{ repositories: 'a/*', keepNewest: -1 }] } }), /oci\.retention\[0\]\.keepNewest/);
    await assert.rejects(createOciFixture({ oci: { garbageCollection: { gracePeriod: 'soon' } } }), /oci\.garbageCollection\.gracePeriod/);
  });
});

describe('oci: orphan data parts', () => {
  let fixture: IOciFixture;
  afterEach(async () => fixture?.cleanup());

  it('a part left by a push that died before writing its record goes once past the grace period; a dry run only lists it', async () => {
    // The record write refused: storage holds the part and nothing names it, as after a crash between the two.
    let refuseRecords = false;
    const hooks = { beforePut: (context: { key: string }) => (refuseRecords && /^oci\/blobs\//.test(context.key) ? { allowed: false, reason: 'killed' } : undefined) };
    fixture = await createOciFixture({ hooks, oci: { garbageCollection: { gracePeriod: '0s' } } });
    const image = await fixture.pushImage('orphan/app', 'latest', ['a kept layer']);
    const before = await listFiles(fixture.dataDir);
    const crashed = Buffer.from('bytes of a push that died');
    refuseRecords = true;
    assert.notEqual((await fixture.call('POST', `/v2/orphan/app/blobs/uploads/?digest=${sha256(crashed)}`, { body: crashed })).status, 201);
    refuseRecords = false;
    const orphans = (await listFiles(fixture.dataDir)).filter((file) => !before.includes(file));
    assert.equal(orphans.length, 1, 'the crash left one part');
    assert.match(orphans[0]!, /^oci\/blob-data\//);

    const dry = await fixture.oci.collectGarbage({ dryRun: true });
    assert.deepEqual(dry.parts, [{ key: orphans[0], size: crashed.length }]);
    assert.equal(dry.bytesReclaimed, crashed.length);
    assert.ok((await listFiles(fixture.dataDir)).includes(orphans[0]!), 'a dry run deletes nothing');
    const report = await fixture.oci.collectGarbage();
    assert.deepEqual(report.parts, dry.parts);
    assert.deepEqual([report.blobs, report.links, report.manifests, report.uploads], [[], [], [], []]);
    assert.deepEqual(await listFiles(fixture.dataDir), before, 'only the orphan went');
    for (const digest of [image.config, ...image.layers]) assert.equal(sha256((await fixture.call('GET', `/v2/orphan/app/blobs/${digest}`)).body), digest);
    // The digest can be pushed again after all.
    assert.equal((await fixture.call('POST', `/v2/orphan/app/blobs/uploads/?digest=${sha256(crashed)}`, { body: crashed })).status, 201);
  });

  it('parts whose record lands while the collector runs stay (a whole-blob push, a chunked upload completed meanwhile), and so do the parts of an open upload', async () => {
    // Two pauses: the whole-blob push before its record is written, the collector at its first delete
    // (after it listed the parts and sessions, before it lists the records).
    let holdRecord = true;
    let recordReached!: () => void;
    let releaseRecord!: () => void;
    const atRecord = new Promise<void>((resolve) => (recordReached = resolve));
    const recordReleased = new Promise<void>((resolve) => (releaseRecord = resolve));
    const pause = pausedDelete(/\/_layers\//);
    const hooks = {
      ...pause.hooks,
      async beforePut(context: { key: string }) {
        if (!holdRecord || !/^oci\/blobs\//.test(context.key)) return;
        holdRecord = false;
        recordReached();
        await recordReleased;
      },
    };
    fixture = await createOciFixture({ hooks, oci: { garbageCollection: { gracePeriod: '0s' } } });
    holdRecord = false;
    const garbage = await fixture.pushImage('late/app', 'gone', ['a layer to collect']);
    assert.equal((await fixture.call('DELETE', `/v2/late/app/manifests/${garbage.digest}`)).status, 202);
    const chunked = Buffer.from('a chunked upload completed during the collection');
    const started = await fixture.call('POST', '/v2/late/app/blobs/uploads/');
    const location = started.headers.Location ?? started.headers.location;
    const patched = await fixture.call('PATCH', location!, { body: chunked });
    assert.equal(patched.status, 202);
    const open = Buffer.from('an upload still open after the collection');
    const openStarted = await fixture.call('POST', '/v2/late/app/blobs/uploads/');
    const openPatched = await fixture.call('PATCH', (openStarted.headers.Location ?? openStarted.headers.location)!, { body: open });
    assert.equal(openPatched.status, 202);
    holdRecord = true;
    const whole = Buffer.from('a whole blob whose record lands during the collection');
    const wholePush = fixture.call('POST', `/v2/late/app/blobs/uploads/?digest=${sha256(whole)}`, { body: whole });
    await atRecord; // its part is stored, its record not yet

    const collection = fixture.oci.collectGarbage();
    await pause.atDelete; // the collector listed the parts and sessions
    releaseRecord();
    assert.equal((await wholePush).status, 201);
    const next = patched.headers.Location ?? patched.headers.location;
    assert.equal((await fixture.call('PUT', `${next}${next!.includes('?') ? '&' : '?'}digest=${sha256(chunked)}`)).status, 201);
    pause.release();
    const report = await collection;
    assert.deepEqual(report.parts, [], 'no part a record or a session names is taken');
    const openNext = (openPatched.headers.Location ?? openPatched.headers.location)!;
    assert.equal((await fixture.call('PUT', `${openNext}${openNext.includes('?') ? '&' : '?'}digest=${sha256(open)}`)).status, 201);
    for (const bytes of [whole, chunked, open]) {
      const blob = await fixture.call('GET', `/v2/late/app/blobs/${sha256(bytes)}`);
      assert.equal(blob.status, 200);
      assert.ok(blob.body.equals(bytes));
    }
    const again = await fixture.oci.collectGarbage();
    assert.deepEqual(again.parts, []);
  });

  it('a part the collector took before its record was written (a write dated older than it is): the push answers 503, the next push of the digest stores it', async () => {
    let collectBeforeRecord = false;
    let collected: Awaited<ReturnType<IOciFixture['oci']['collectGarbage']>> | undefined;
    const hooks = {
      async beforePut(context: { key: string }) {
        if (!collectBeforeRecord || !/^oci\/blobs\//.test(context.key)) return;
        collectBeforeRecord = false;
        collected = await fixture.oci.collectGarbage();
      },
    };
    fixture = await createOciFixture({ hooks, oci: { garbageCollection: { gracePeriod: '0s' } } });
    const bytes = Buffer.from('a layer whose part was collected too early');
    collectBeforeRecord = true;
    const first = await fixture.call('POST', `/v2/early/app/blobs/uploads/?digest=${sha256(bytes)}`, { body: bytes });
    assert.equal(collected?.parts.length, 1, 'the collector took the part');
    assert.equal(first.status, 503);
    assert.equal(first.code, 'BLOB_UPLOAD_INVALID');
    assert.equal((await fixture.call('HEAD', `/v2/early/app/blobs/${sha256(bytes)}`)).status, 404, 'not linked');
    assert.equal((await fixture.call('POST', `/v2/early/app/blobs/uploads/?digest=${sha256(bytes)}`, { body: bytes })).status, 201);
    const blob = await fixture.call('GET', `/v2/early/app/blobs/${sha256(bytes)}`);
    assert.ok(blob.body.equals(bytes));
  });
});
