import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bufferedObjectSource, storedObjectSource } from '../../ts/core/helpers.storedsource.js';
import { streamToBuffer } from '../../ts/core/helpers.stream.js';
import { startTempStorage } from '../helpers/tempstorage.js';

describe('storedObjectSource', () => {
  let temp: Awaited<ReturnType<typeof startTempStorage>>;
  before(async () => {
    temp = await startTempStorage('smartregistry-storedsource-');
    await temp.storage.putObject('a/b.bin', Buffer.from('0123456789'), { protocol: 'core' });
  });
  after(() => temp.stop());

  it('describes and opens a stored object, whole or a span', async () => {
    const source = storedObjectSource(temp.storage, 'a/b.bin', { protocol: 'core' }, 'application/x-test');
    const described = await source.describe();
    assert.equal(described?.size, 10);
    assert.equal(described?.contentType, 'application/x-test');
    const whole = await source.open();
    assert.equal((await streamToBuffer(whole!.body)).toString(), '0123456789');
    assert.equal(whole!.object.etag, described!.etag);
    const span = await source.open({ start: 2, end: 4 });
    assert.equal(span!.length, 3);
    assert.equal((await streamToBuffer(span!.body)).toString(), '234');
  });

  it('answers null for a missing key', async () => {
    const source = storedObjectSource(temp.storage, 'a/missing', { protocol: 'core' }, 'text/plain');
    assert.equal(await source.describe(), null);
    assert.equal(await source.open(), null);
  });
});

describe('bufferedObjectSource', () => {
  it('loads once for describe and open, whole or a span', async () => {
    let loads = 0;
    const object = { size: 10, etag: '"e"', contentType: 'text/plain' };
    const source = bufferedObjectSource(async () => {
      loads += 1;
      return { object, bytes: Buffer.from('0123456789') };
    });
    assert.deepEqual(await source.describe(), object);
    const span = await source.open({ start: 2, end: 4 });
    assert.equal(span!.length, 3);
    assert.equal((await streamToBuffer(span!.body)).toString(), '234');
    assert.equal(loads, 1);
  });

  it('answers null when there is nothing', async () => {
    const source = bufferedObjectSource(async () => null);
    assert.equal(await source.describe(), null);
    assert.equal(await source.open(), null);
  });
});
