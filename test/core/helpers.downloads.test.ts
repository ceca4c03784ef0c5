import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { resolveDownloads } from '../../ts/core/helpers.downloads.js';
import type { IDownloadsConfig } from '../../ts/core/interfaces.core.js';

const configWith = (downloads: IDownloadsConfig, npmDownloads?: IDownloadsConfig) => ({
  storage: { type: 'filesystem' as const, path: '/tmp/unused' },
  auth: { tokenStore: 'memory' as const },
  downloads,
  npm: { enabled: true, basePath: '/npm', ...(npmDownloads ? { downloads: npmDownloads } : {}) },
});

describe('downloads configuration', () => {
  it('defaults to streaming with 5-minute URLs; a protocol overrides only what it sets', () => {
    const defaults = resolveDownloads();
    assert.equal(defaults.redirect, false);
    assert.equal(defaults.expiresIn, 300);
    assert.equal(defaults.publicUrl, undefined);
    const npm = resolveDownloads({ redirect: true, publicUrl: 'https://objects.example.com/' }, { expiresIn: 60 });
    assert.deepEqual([npm.redirect, npm.expiresIn, npm.publicUrl], [true, 60, 'https://objects.example.com']);
    assert.equal(resolveDownloads({ redirect: true }, { redirect: false }).redirect, false);
  });

  it('refuses what cannot work, saying where', () => {
    const refused: [IDownloadsConfig, RegExp][] = [
      [{ expiresIn: 0 }, /downloads\.expiresIn must be a whole number of seconds from 1 to 604800/],
      [{ expiresIn: 604801 }, /downloads\.expiresIn/],
      [{ publicUrl: 'objects.example.com' }, /downloads\.publicUrl must be an http\(s\) origin/],
      [{ publicUrl: 'https://objects.example.com/bucket' }, /downloads\.publicUrl must be an http\(s\) origin/],
      [{ redirect: 'yes' as unknown as boolean }, /downloads\.redirect must be true or false/],
    ];
    for (const [downloads, message] of refused) assert.throws(() => new SmartRegistry(configWith(downloads)), message);
    assert.throws(() => new SmartRegistry(configWith({}, { expiresIn: -1 })), /npm\.downloads\.expiresIn/);
    assert.doesNotThrow(() => new SmartRegistry(configWith({ redirect: true, expiresIn: 604800, publicUrl: 'http://127.0.0.1:9000' })));
  });
});
