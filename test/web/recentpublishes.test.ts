/** The home page's recent publishes: fed by audit events, kept in one bounded document in storage. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../ts/core/classes.logger.js';
import type { IPackageCatalogue } from '../../ts/core/interfaces.catalogue.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import type { IRegistryEvent } from '../../ts/core/interfaces.operations.js';
import { webPaths } from '../../ts/core/storage.paths.js';
import { MavenCatalogue } from '../../ts/maven/classes.mavencatalogue.js';
import { NpmCatalogue } from '../../ts/npm/classes.npmcatalogue.js';
import { OciCatalogue } from '../../ts/oci/classes.ocicatalogue.js';
import { RecentPublishes } from '../../ts/web/classes.recentpublishes.js';
import { startTempStorage } from '../helpers/tempstorage.js';

type TTempStorage = Awaited<ReturnType<typeof startTempStorage>>;

let clock = Date.parse('2026-12-01T10:00:00.000Z');
const event = (protocol: TRegistryProtocol, resource: string, version?: string, fields: Partial<IRegistryEvent> = {}): IRegistryEvent => ({
  id: String(clock),
  time: new Date((clock += 1000)).toISOString(),
  protocol,
  action: 'publish',
  resource,
  ...(version !== undefined ? { version } : {}),
  actor: { userId: 'admin' },
  result: 'success',
  status: 201,
  ...fields,
});

describe('recent publishes', () => {
  let temp: TTempStorage;
  const logger = new Logger({ level: 'silent' });
  // Only the catalogues' own naming (publishedPackage) is used: no store behind them is touched.
  const none = null as never;
  const catalogues = new Map<TRegistryProtocol, IPackageCatalogue>([
    ['npm', new NpmCatalogue(none, none)],
    ['maven', new MavenCatalogue(none, none)],
    ['oci', new OciCatalogue(none)],
    ['pypi', { resourceOf: (name) => name, search: async () => ({ total: 0, entries: [] }), describe: async () => null }],
  ]);
  const recentOf = (maxEntries: number) => new RecentPublishes(temp.storage, catalogues, logger, { maxEntries, revalidateMs: 0 });

  before(async () => {
    temp = await startTempStorage('smartregistry-recent-');
  });
  after(() => temp?.stop());

  it('lists successful publishes newest first, each release once, named as its catalogue names it', async () => {
    const recent = recentOf(10);
    for (const delivered of [
      event('npm', 'left-pad', '1.0.0'),
      event('npm', 'left-pad', ''), // a deprecation: a publish without tarballs
      event('maven', 'com/example/lib/1.0/lib-1.0.jar', '1.0'),
      event('maven', 'com/example/lib/1.0/lib-1.0.pom', '1.0'),
      event('oci', 'team/app', 'sha256:' + 'a'.repeat(64)),
      event('oci', 'team/app', 'v2'),
      event('pypi', 'demo', '0.1.0', { result: 'failure', status: 400 }),
      event('pypi', 'demo', '0.1.0', { action: 'yank' }),
      event('composer', 'not/shown', '1.0.0'), // no catalogue mounted for it
      event('npm', 'left-pad', '1.0.0,1.1.0'),
    ]) {
      recent.deliver(delivered);
    }
    await recent.settled();
    const listed = (await recent.list()).map((entry) => `${entry.protocol} ${entry.name} ${entry.version}`);
    assert.deepEqual(listed, ['npm left-pad 1.1.0', 'oci team/app v2', 'maven com.example:lib 1.0', 'npm left-pad 1.0.0']);
  });

  it('takes deleted packages and versions off the list, and a publish after a delete puts it back', async () => {
    const recent = recentOf(20);
    for (const delivered of [
      event('npm', 'gone-pkg', '1.0.0'),
      event('npm', 'gone-pkg', '1.1.0'),
      event('npm', 'half-pkg', '1.0.0'),
      event('npm', 'half-pkg', '2.0.0'),
      event('maven', 'com/example/gone/1.0/gone-1.0.jar', '1.0'),
      event('npm', 'gone-pkg', undefined, { action: 'delete' }),
      event('npm', 'half-pkg', '1.0.0', { action: 'delete' }),
      event('maven', 'com.example:gone', '1.0', { action: 'delete' }),
      event('npm', 'half-pkg', '2.0.0', { action: 'delete', result: 'failure', status: 500 }),
      event('npm', 'back-pkg', '1.0.0', { action: 'delete' }),
      event('npm', 'back-pkg', '1.0.0'),
    ]) {
      recent.deliver(delivered);
    }
    await recent.settled();
    const listed = (await recent.list()).map((entry) => `${entry.protocol} ${entry.name} ${entry.version}`);
    assert.ok(!listed.some((entry) => entry.includes('gone')), listed.join('; '));
    assert.deepEqual(listed.filter((entry) => /half-pkg|back-pkg/.test(entry)), ['npm back-pkg 1.0.0', 'npm half-pkg 2.0.0']);
  });

  it('keeps at most maxEntries, across writers on the same storage, and moves a republished release to the front', async () => {
    const first = recentOf(5);
    const second = recentOf(5);
    for (let i = 0; i < 4; i++) {
      first.deliver(event('npm', `first-${i}`, '1.0.0'));
      second.deliver(event('npm', `second-${i}`, '1.0.0'));
    }
    await Promise.all([first.settled(), second.settled()]);
    const names = (await first.list()).map((entry) => entry.name);
    assert.deepEqual(names, ['second-3', 'first-3', 'second-2', 'first-2', 'second-1']);
    first.deliver(event('npm', 'first-2', '1.0.0'));
    await first.settled();
    assert.deepEqual((await second.list()).map((entry) => entry.name), ['first-2', 'second-3', 'first-3', 'second-2', 'second-1']);
    const stored = await temp.storage.getJson<{ entries: unknown[] }>(webPaths.recentPublishes());
    assert.equal(stored?.value.entries.length, 5);
  });
});
