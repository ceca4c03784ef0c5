/** RubyGems on the S3 backend (a local S3 server): push on one instance, read everything on another. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { startS3Server, type IS3TestServer } from '../helpers/s3server.js';
import { createGemRegistry, gemspecYaml, makeGem, type IGemTestRegistry } from './fixtures.js';

describe('rubygems on the S3 backend', () => {
  let s3: IS3TestServer;
  let first: IGemTestRegistry;
  let second: IGemTestRegistry;

  before(async () => {
    s3 = await startS3Server();
    const storage = { type: 's3' as const, ...s3.descriptor, bucketName: 'rubygems-test' };
    first = await createGemRegistry({ storage });
    second = await createGemRegistry({ storage });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await s3?.stop();
  });

  it('pushes, yanks and serves the compact index, the gem and its sha256 from another instance', async () => {
    const gem = await makeGem(gemspecYaml('s3-gem', '1.0.0'));
    assert.equal((await first.push(gem)).status, 200);
    assert.equal((await first.push(await makeGem(gemspecYaml('s3-gem', '1.1.0')))).status, 200);
    const file = await second.request('GET', '/rubygems/gems/s3-gem-1.0.0.gem');
    assert.equal(file.status, 200);
    assert.deepEqual(file.bytes, gem);
    assert.equal(
      (await second.request('GET', '/rubygems/info/s3-gem')).text.split('\n')[1],
      `1.0.0 |checksum:${crypto.createHash('sha256').update(gem).digest('hex')}`,
    );
    assert.equal((await second.request('DELETE', '/rubygems/api/v1/gems/yank?gem_name=s3-gem&version=1.1.0', { token: second.tokens.alice })).status, 200);
    assert.match((await first.request('GET', '/rubygems/versions')).text, /\ns3-gem 1\.0\.0 [0-9a-f]{32}\ns3-gem 1\.1\.0 [0-9a-f]{32}\ns3-gem -1\.1\.0 [0-9a-f]{32}\n$/);
    assert.equal((await first.request('GET', '/rubygems/names')).text, '---\ns3-gem\n');
  });
});
