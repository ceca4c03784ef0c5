import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemBackend } from '../../ts/core/storage/classes.filesystembackend.js';
import { RegistryStorage } from '../../ts/core/classes.registrystorage.js';
import { Logger } from '../../ts/core/classes.logger.js';
import { DELETE } from '../../ts/core/classes.registrystorage.js';
import { DerivedDocuments, derivedDocument, jsonRevisionOf, jsonTruth, nextRevision, revisionOrder } from '../../ts/core/classes.deriveddocuments.js';
import type { IStorageHookContext } from '../../ts/core/interfaces.core.js';

interface IProject {
  rev: string;
  versions: string[];
}

const ctx = { protocol: 'pypi' as const };

interface IInstance {
  storage: RegistryStorage;
  documents: DerivedDocuments<IProject>;
  page: ReturnType<typeof derivedDocument<IProject>>;
  reads: string[];
  refuse: Set<string>;
  /** Puts of these keys wait until their promise resolves. */
  held: Map<string, Promise<void>>;
  /** Reads of these keys wait until their promise resolves before they read. */
  heldReads: Map<string, Promise<void>>;
  /** Every key the backend has read, in order. */
  backendReads: string[];
  puts: string[];
}

/** The filesystem backend, with reads of chosen keys held back: to land a change between two reads of one check. */
class ReadHoldingBackend extends FilesystemBackend {
  constructor(
    dir: string,
    private readonly heldReads: Map<string, Promise<void>>,
    private readonly reads: string[],
  ) {
    super(dir);
  }

  override async get(...args: Parameters<FilesystemBackend['get']>) {
    await this.heldReads.get(args[0]);
    const result = await super.get(...args);
    this.reads.push(args[0]);
    return result;
  }
}

/** One registry instance's view of the projects kept in `dir`. */
async function openInstance(dir: string, validationWindowMs = 0): Promise<IInstance> {
  const reads: string[] = [];
  const refuse = new Set<string>();
  const held = new Map<string, Promise<void>>();
  const heldReads = new Map<string, Promise<void>>();
  const backendReads: string[] = [];
  const puts: string[] = [];
  const storage = new RegistryStorage(
    new ReadHoldingBackend(dir, heldReads, backendReads),
    {
      afterGet: (hook: IStorageHookContext) => void reads.push(hook.key),
      beforePut: async (hook: IStorageHookContext) => {
        puts.push(hook.key);
        await held.get(hook.key);
        return refuse.has(hook.key) ? { allowed: false, reason: 'refused' } : undefined;
      },
    },
    undefined,
    { validationWindowMs },
  );
  await storage.init();
  const page = derivedDocument<IProject>(storage, {
    label: 'simple page',
    afterAnswer: true,
    key: (name) => `pypi/${name}/page.json`,
    render: (project) => Buffer.from(JSON.stringify({ rev: project.rev, versions: project.versions })),
    revisionOfBytes: (bytes) => (JSON.parse(bytes.toString()) as IProject).rev,
  });
  const documents = new DerivedDocuments<IProject>(
    storage,
    {
      key: (name) => `pypi/${name}/project.json`,
      revision: (project) => project.rev,
      revisionOfBytes: (bytes) => (JSON.parse(bytes.toString()) as IProject).rev,
      serialize: (project) => Buffer.from(JSON.stringify(project)),
      parse: (bytes) => JSON.parse(bytes.toString()) as IProject,
    },
    [page],
    new Logger({ level: 'silent' }),
  );
  return { storage, documents, page, reads, refuse, held, heldReads, backendReads, puts };
}

/** A project (truth) and its "simple page" (derived: the version list), on a real filesystem backend; `more` instances share it. */
async function withProjects(run: (setup: IInstance, ...others: IInstance[]) => Promise<void>, more = 0, validationWindowMs = 0) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-derived-'));
  const instances: IInstance[] = [];
  try {
    for (let i = 0; i <= more; i++) instances.push(await openInstance(dir, validationWindowMs));
    await run(instances[0]!, ...instances.slice(1));
  } finally {
    for (const instance of instances) await instance.storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** A put of `key` on `instance` waits until the returned function is called. */
function hold(instance: IInstance, key: string): () => void {
  let release!: () => void;
  instance.held.set(key, new Promise<void>((resolve) => (release = resolve)));
  return release;
}

const pageOf = async (storage: RegistryStorage, name: string) => (await storage.getJson<IProject>(`pypi/${name}/page.json`))?.value ?? null;
const addVersion = (version: string, rev: number) => (current: IProject | null): IProject => ({
  rev: `${rev}-${version}`,
  versions: [...(current?.versions ?? []), version],
});

test('derived documents: revision order — an older derivation never replaces a newer one', async () => {
  await withProjects(async ({ storage, page }) => {
    await page.write('demo', { rev: '5-b', versions: ['1', '2'] }, '5-b', ctx, false);
    await page.write('demo', { rev: '3-a', versions: ['1'] }, '3-a', ctx, false);
    assert.deepEqual(await pageOf(storage, 'demo'), { rev: '5-b', versions: ['1', '2'] });
    // The same revision number with another id (a retried write) does replace it.
    await page.write('demo', { rev: '5-c', versions: ['1', '2', '3'] }, '5-c', ctx, false);
    assert.equal((await pageOf(storage, 'demo'))?.rev, '5-c');
    // Deleting derived from an older revision leaves the newer document; from its own or later it goes.
    await page.write('demo', null, '4-x', ctx, false);
    assert.ok(await pageOf(storage, 'demo'));
    await page.write('demo', null, '5-c', ctx, false);
    assert.equal(await pageOf(storage, 'demo'), null);
    assert.equal(revisionOrder('12-abc'), 12);
    assert.equal(revisionOrder('junk'), 0);
    assert.equal(revisionOrder(undefined), 0);
  });
});

test('derived documents: a JSON truth finds its revision in the stored bytes', () => {
  const truth = jsonTruth<{ revision: string; n: number }>((name) => `docs/${name}.json`);
  const bytes = truth.serialize({ revision: '3-a', n: 1 });
  assert.equal(truth.key('x'), 'docs/x.json');
  assert.equal(truth.revisionOfBytes(bytes), '3-a');
  assert.deepEqual(truth.parse(bytes), { revision: '3-a', n: 1 });
  assert.equal(jsonRevisionOf(Buffer.from('{"n":1}')), null);
  assert.equal(jsonRevisionOf(Buffer.from('{"revision":')), null);
  assert.equal(jsonRevisionOf(Buffer.from('null')), null);
});

test('derived documents: the next revision passes both the previous one and the clock', () => {
  assert.equal(nextRevision(null, 'a', 1000), '1000-a');
  assert.equal(nextRevision('1000-a', 'b', 1000), '1001-b');
  assert.equal(nextRevision('5-a', 'b', 1000), '1000-b');
  assert.equal(nextRevision('junk', 'c', 7), '7-c');
});

test('derived documents: a change succeeds once the truth is written; the next read repairs what failed', async () => {
  await withProjects(async ({ storage, documents, page, refuse }) => {
    const first = await documents.change('demo', ctx, addVersion('1.0', 1));
    assert.deepEqual({ value: first.value, changed: first.changed }, { value: { rev: '1-1.0', versions: ['1.0'] }, changed: true });
    assert.equal(await first.derived, true);
    refuse.add('pypi/demo/page.json');
    const result = await documents.change('demo', ctx, addVersion('2.0', 2));
    assert.equal(result.changed, true);
    assert.equal(await result.derived, false);
    assert.deepEqual((await storage.getJson<IProject>('pypi/demo/project.json'))?.value.versions, ['1.0', '2.0']);
    assert.deepEqual((await pageOf(storage, 'demo'))?.versions, ['1.0']);
    refuse.clear();
    await documents.ensureCurrent('demo', page, ctx);
    assert.deepEqual(await pageOf(storage, 'demo'), { rev: '2-2.0', versions: ['1.0', '2.0'] });
    // A failing truth write fails the change and derives nothing.
    refuse.add('pypi/demo/project.json');
    await assert.rejects(documents.change('demo', ctx, addVersion('3.0', 3)), /refused/);
    assert.equal((await pageOf(storage, 'demo'))?.rev, '2-2.0');
  });
});

test('derived documents: a change is answered once the truth is written; reads and destroy on this instance wait for its derived writes', async () => {
  await withProjects(async ({ storage, documents, page, held, puts }) => {
    await (await documents.change('demo', ctx, addVersion('1.0', 1))).derived;
    let release!: () => void;
    held.set('pypi/demo/page.json', new Promise<void>((resolve) => (release = resolve)));
    puts.length = 0;
    const result = await documents.change('demo', ctx, addVersion('2.0', 2));
    assert.deepEqual(result.value?.versions, ['1.0', '2.0'], 'answered while the page is still being written');
    assert.equal((await pageOf(storage, 'demo'))?.rev, '1-1.0');
    let read = false;
    let settled = false;
    const reading = documents.ensureCurrent('demo', page, ctx).then(() => (read = true));
    const settling = storage.settled().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(read, false, 'the read waits for the page under way');
    assert.equal(settled, false, 'storage has unfinished work');
    release();
    await Promise.all([reading, settling]);
    assert.equal(await result.derived, true);
    assert.deepEqual(await pageOf(storage, 'demo'), { rev: '2-2.0', versions: ['1.0', '2.0'] });
    assert.deepEqual(puts, ['pypi/demo/project.json', 'pypi/demo/page.json'], 'the page written once: the read found it current, no repair');
  });
});

test('derived documents: reads verify with stats once verified; a deleted truth takes its derived documents along', async () => {
  await withProjects(async ({ storage, documents, page, reads }) => {
    await documents.change('demo', ctx, addVersion('1.0', 1));
    await documents.ensureCurrent('demo', page, ctx);
    reads.length = 0;
    await documents.ensureCurrent('demo', page, ctx);
    await documents.ensureCurrent('demo', page, ctx);
    assert.deepEqual(reads, [], 'verified: nothing read again');
    // A page left by a deleted project's last writer, claiming a later revision than a new truth.
    await (await documents.change('demo', ctx, () => DELETE)).derived;
    assert.equal(await pageOf(storage, 'demo'), null);
    await storage.putJson('pypi/demo/page.json', { rev: '9-old', versions: ['old'] }, ctx);
    await documents.ensureCurrent('demo', page, ctx);
    assert.equal(await pageOf(storage, 'demo'), null);
    await storage.putJson('pypi/demo/page.json', { rev: '9-old', versions: ['old'] }, ctx);
    await documents.change('demo', ctx, addVersion('2.0', 4));
    await documents.ensureCurrent('demo', page, ctx);
    assert.deepEqual(await pageOf(storage, 'demo'), { rev: '4-2.0', versions: ['2.0'] });
  });
});

test('nextRevision grows past the previous revision and past the clock, also after a deletion', () => {
  assert.equal(nextRevision(null, 'a', 1000), '1000-a');
  assert.equal(nextRevision('1000-a', 'b', 1000), '1001-b', 'same millisecond: one more than before');
  assert.equal(nextRevision('5-x', 'c', 2000), '2000-c', 'the clock is later');
  assert.ok(revisionOrder(nextRevision('99999999999999-x', 'd', 1)) > 99999999999999, 'a clock behind the stored revision still grows it');
});

test('derived documents: rederive writes what the stored truth implies, never over a later derivation', async () => {
  await withProjects(async ({ storage, documents, refuse }) => {
    refuse.add('pypi/demo/page.json');
    await (await documents.change('demo', ctx, addVersion('1', 1))).derived;
    refuse.clear();
    assert.equal(await pageOf(storage, 'demo'), null);
    assert.equal(await documents.rederive('demo', ctx), true);
    assert.deepEqual(await pageOf(storage, 'demo'), { rev: '1-1', versions: ['1'] });
    // A derivation from a later revision than the stored truth's stays.
    await storage.putJson('pypi/demo/page.json', { rev: '9-x', versions: ['9'] }, ctx);
    await documents.rederive('demo', ctx);
    assert.equal((await pageOf(storage, 'demo'))?.rev, '9-x');
    // Nothing stored: nothing to derive.
    assert.equal(await documents.rederive('missing', ctx), true);
    // A failed derived write is reported.
    refuse.add('pypi/demo/page.json');
    await storage.deleteObject('pypi/demo/page.json', ctx);
    assert.equal(await documents.rederive('demo', ctx), false);
  });
});

test('jsonTruth: a JSON truth with its revision in a `revision` field', () => {
  const truth = jsonTruth<{ revision: string; n: number }>((name) => `t/${name}.json`);
  const bytes = truth.serialize({ revision: '3-a', n: 1 });
  assert.equal(truth.key('x'), 't/x.json');
  assert.deepEqual(truth.parse(bytes), { revision: '3-a', n: 1 });
  assert.equal(truth.revisionOfBytes(bytes), '3-a');
  assert.equal(jsonRevisionOf(Buffer.from('{"revision":7}')), null);
  assert.equal(jsonRevisionOf(Buffer.from('not json')), null);
});

test('derived documents: a package deleted on another instance while its last derived writes were under way keeps none of them', async () => {
  await withProjects(async (first, second) => {
    const release = hold(first, 'pypi/demo/page.json');
    const published = await first.documents.change('demo', ctx, addVersion('1.0', 1));
    assert.deepEqual(published.value?.versions, ['1.0'], 'answered while the page is held');
    // The client deletes the package through another instance before the first one's page landed.
    await (await second.documents.change('demo', ctx, () => DELETE)).derived;
    release();
    await first.storage.settled();
    assert.equal(await pageOf(first.storage, 'demo'), null, 'the page written after the deletion is removed again');
    assert.equal(await first.storage.stat('pypi/demo/project.json'), null);
    // A newer publish meanwhile keeps its page: the removal is in revision order.
    const again = hold(first, 'pypi/demo/page.json');
    await first.documents.change('demo', ctx, addVersion('2.0', 3));
    await (await second.documents.change('demo', ctx, () => DELETE)).derived;
    await (await second.documents.change('demo', ctx, addVersion('3.0', 5))).derived;
    again();
    await first.storage.settled();
    assert.deepEqual(await pageOf(first.storage, 'demo'), { rev: '5-3.0', versions: ['3.0'] });
  }, 1);
});

test('derived documents: a package deleted on another instance while the late writes of its next change were under way keeps none of them', async () => {
  await withProjects(async (first, second) => {
    await (await first.documents.change('demo', ctx, addVersion('1.0', 1))).derived;
    // The page exists now: the next change's late write replaces it, conditional on the version it knows.
    const release = hold(first, 'pypi/demo/page.json');
    const published = await first.documents.change('demo', ctx, addVersion('2.0', 2));
    assert.deepEqual(published.value?.versions, ['1.0', '2.0'], 'answered while the page is held');
    await (await second.documents.change('demo', ctx, () => DELETE)).derived;
    assert.equal(await pageOf(second.storage, 'demo'), null, 'the deletion removed the page');
    release();
    await first.storage.settled();
    assert.equal(await pageOf(first.storage, 'demo'), null, 'the page written after the deletion is removed again');
    assert.equal(await first.storage.stat('pypi/demo/project.json'), null);
  }, 1);
});

type TVersions = { revision: string; versions: string[] };

/**
 * A late-written page of `${prefix}/{name}/page.json` over a filesystem backend that records every stat, with the
 * truths at `${prefix}/{name}/truth.json` made by `documentsOf(neverDeleted)`.
 */
async function withStatsRecorded(
  prefix: string,
  run: (setup: { backend: FilesystemBackend; storage: RegistryStorage; stats: string[]; documentsOf: (neverDeleted?: boolean) => DerivedDocuments<TVersions> }) => Promise<void>,
) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-derived-'));
  const backend = new FilesystemBackend(dir);
  const stats: string[] = [];
  const stat = backend.stat.bind(backend);
  backend.stat = (key) => {
    stats.push(key);
    return stat(key);
  };
  const storage = new RegistryStorage(backend);
  await storage.init();
  try {
    const page = derivedDocument<TVersions>(storage, {
      label: 'page',
      afterAnswer: true,
      key: (name) => `${prefix}/${name}/page.json`,
      render: (truth) => Buffer.from(JSON.stringify(truth)),
      revisionOfBytes: jsonRevisionOf,
    });
    const documentsOf = (neverDeleted = false) =>
      new DerivedDocuments(storage, jsonTruth<TVersions>((name) => `${prefix}/${name}/truth.json`, { neverDeleted }), [page], new Logger({ level: 'silent' }));
    await run({ backend, storage, stats, documentsOf });
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('derived documents: late writes that replaced what they found cost no stat of the truth; one that created a document does', async () => {
  await withStatsRecorded('p', async ({ backend, storage, stats, documentsOf }) => {
    const documents = documentsOf();
    const publish = async (revision: string, versions: string[]) => assert.equal(await (await documents.change('demo', ctx, () => ({ revision, versions }))).derived, true);
    await publish('1-a', ['1.0']);
    assert.deepEqual(stats, ['p/demo/truth.json'], 'the page was created: checked');
    await publish('2-b', ['1.0', '2.0']);
    assert.deepEqual(stats, ['p/demo/truth.json'], 'the page was replaced as found: not checked');
    assert.deepEqual(JSON.parse((await storage.getBytes('p/demo/page.json'))!.bytes.toString()), { revision: '2-b', versions: ['1.0', '2.0'] });
    // Changed behind this instance's back: its write after the conflict is checked again.
    await backend.put('p/demo/page.json', Buffer.from(JSON.stringify({ revision: '2-b', versions: ['1.0', '2.0'], other: true })));
    await publish('3-c', ['1.0', '2.0', '3.0']);
    assert.deepEqual(stats, ['p/demo/truth.json', 'p/demo/truth.json'], 'written after a conflict: checked');
  });
});

test('derived documents: a read that finds another instance\'s derived document landed since its stat answers it, not a remembered "missing"', async () => {
  await withProjects(async (first, second) => {
    const release = hold(first, 'pypi/demo/page.json');
    await first.documents.change('demo', ctx, addVersion('1.0', 1));
    // The second instance looks while the page is not there yet, and remembers that for its validation window.
    assert.equal(await second.storage.statRecent('pypi/demo/page.json'), null);
    assert.ok(await second.storage.statRecent('pypi/demo/project.json'));
    release();
    await first.storage.settled();
    // It finds the page current when it verifies it, and so must the read of the page that follows.
    await second.documents.ensureCurrent('demo', second.page, ctx);
    assert.ok(await second.storage.statRecent('pypi/demo/page.json'), 'the stat of the page after the verifying read');
    assert.deepEqual(second.puts, [], 'nothing repaired: the page was current');
  }, 1, 60_000);
});

test('derived documents: a read that finds a change landed between its read of the truth and of the derived document keeps the newer derivation', async () => {
  await withProjects(async (reader, writer) => {
    await (await writer.documents.change('demo', ctx, addVersion('1.0', 1))).derived;
    let releasePage!: () => void;
    reader.heldReads.set('pypi/demo/page.json', new Promise<void>((resolve) => (releasePage = resolve)));
    const read = reader.documents.ensureCurrent('demo', reader.page, ctx);
    // The reader has read the truth of 1.0; its read of the page waits while 2.0 is published through the writer.
    while (!reader.backendReads.includes('pypi/demo/project.json')) await new Promise((resolve) => setTimeout(resolve, 1));
    await (await writer.documents.change('demo', ctx, addVersion('2.0', 2))).derived;
    releasePage();
    await read;
    assert.deepEqual(await pageOf(reader.storage, 'demo'), { rev: '2-2.0', versions: ['1.0', '2.0'] }, 'not forced back to 1.0');
    assert.deepEqual(reader.puts, [], 'nothing written: the page was derived from the truth as it is now');
  }, 1);
});

test('derived documents: after the late writes of a truth that is never deleted (a gem), no stat of the truth', async () => {
  await withStatsRecorded('gems', async ({ storage, stats, documentsOf }) => {
    for (const neverDeleted of [false, true]) {
      const name = `demo-${neverDeleted}`;
      const changed = await documentsOf(neverDeleted).change(name, { protocol: 'rubygems' }, () => ({ revision: '1-a', versions: ['1.0'] }));
      assert.equal(await changed.derived, true);
      assert.deepEqual(JSON.parse((await storage.getBytes(`gems/${name}/page.json`))!.bytes.toString()), { revision: '1-a', versions: ['1.0'] });
      assert.equal(stats.includes(`gems/${name}/truth.json`), !neverDeleted, neverDeleted ? 'never deleted: not checked' : 'checked once written');
    }
  });
});
test('derived documents: a read that finds the derived document later than the truth it read puts an older derivation back only for a truth that may be deleted', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-derived-'));
  const storage = new RegistryStorage(new FilesystemBackend(dir));
  await storage.init();
  try {
    type TGem = { revision: string; versions: string[] };
    const page = derivedDocument<TGem>(storage, {
      label: 'page',
      key: (name) => `gems/${name}/page.json`,
      render: (truth) => Buffer.from(JSON.stringify(truth)),
      revisionOfBytes: jsonRevisionOf,
    });
    for (const neverDeleted of [false, true]) {
      const name = `demo-${neverDeleted}`;
      const documents = new DerivedDocuments(storage, jsonTruth<TGem>((gem) => `gems/${gem}/truth.json`, { neverDeleted }), [page], new Logger({ level: 'silent' }));
      await (await documents.change(name, { protocol: 'rubygems' }, () => ({ revision: '1-a', versions: ['1.0'] }))).derived;
      // What a read sees when a change (a yank) landed between its read of the truth and its read of the page.
      await page.write(name, { revision: '2-b', versions: [] }, '2-b', { protocol: 'rubygems' }, false);
      await documents.ensureCurrent(name, page, { protocol: 'rubygems' });
      const stored = JSON.parse((await storage.getBytes(`gems/${name}/page.json`))!.bytes.toString()) as TGem;
      assert.equal(stored.revision, neverDeleted ? '2-b' : '1-a', neverDeleted ? 'the later derivation stays' : 'taken for a deleted package\'s left-over');
    }
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('derived documents: a late document renders after the answer, yet from its own change when the next one changes the value in place', async () => {
  await withProjects(async ({ storage }) => {
    const rendered: string[] = [];
    const page = derivedDocument<IProject>(storage, {
      label: 'in-place page',
      afterAnswer: true,
      key: (name) => `pypi/${name}/in-place.json`,
      render: (project) => {
        rendered.push(`${project.rev}:${project.versions.join(',')}`);
        return Buffer.from(JSON.stringify({ rev: project.rev, versions: project.versions }));
      },
      revisionOfBytes: (bytes) => (JSON.parse(bytes.toString()) as IProject).rev,
    });
    const truth = {
      key: (name: string) => `pypi/${name}/in-place-truth.json`,
      revision: (project: IProject) => project.rev,
      revisionOfBytes: (bytes: Buffer) => (JSON.parse(bytes.toString()) as IProject).rev,
      serialize: (project: IProject) => Buffer.from(JSON.stringify(project)),
      parse: (bytes: Buffer) => JSON.parse(bytes.toString()) as IProject,
    };
    const documents = new DerivedDocuments<IProject>(storage, truth, [page], new Logger({ level: 'silent' }));
    // A mutator that changes the value it is given (the one the last change wrote, remembered) in place.
    const addInPlace = (version: string, rev: number) => (current: IProject | null) => {
      const project = current ?? { rev: '', versions: [] };
      project.versions.push(version);
      project.rev = `${rev}-${version}`;
      return project;
    };
    const first = await documents.change('demo', ctx, addInPlace('1', 1));
    assert.deepEqual(rendered, [], 'the change resolves (and is answered) before its late document renders');
    const second = await documents.change('demo', ctx, addInPlace('2', 2));
    await Promise.all([first.derived, second.derived]);
    assert.deepEqual(rendered, ['1-1:1', '2-2:1,2']);
    assert.deepEqual((await storage.getJson<IProject>('pypi/demo/in-place.json'))?.value, { rev: '2-2', versions: ['1', '2'] });
  });
});

test('derived documents: knownCurrent answers the verified key without storage, nothing while a derived write is under way or a stat is unknown', async () => {
  await withProjects(async (first, second) => {
    const key = 'pypi/demo/page.json';
    assert.equal(first.documents.knownCurrent('demo', first.page), undefined, 'nothing verified yet');
    await (await first.documents.change('demo', ctx, addVersion('1.0', 1))).derived;
    assert.equal(await first.documents.ensureCurrent('demo', first.page, ctx), key);
    assert.equal(first.documents.knownCurrent('demo', first.page), undefined, 'verifying read its bytes and forgot the stats');
    assert.equal(await first.documents.ensureCurrent('demo', first.page, ctx), key);
    first.reads.length = 0;
    assert.equal(first.documents.knownCurrent('demo', first.page), key);
    assert.deepEqual(first.reads, [], 'answered from memory');
    // This instance's change: its own derived write under way, then the truth's stat forgotten.
    const release = hold(first, key);
    await first.documents.change('demo', ctx, addVersion('2.0', 2));
    assert.equal(first.documents.knownCurrent('demo', first.page), undefined, 'a derived write under way is waited for');
    release();
    await first.storage.settled();
    assert.equal(first.documents.knownCurrent('demo', first.page), undefined, 'the stats of what it wrote are asked again');
    assert.equal(await first.documents.ensureCurrent('demo', first.page, ctx), key);
    await first.documents.ensureCurrent('demo', first.page, ctx);
    assert.equal(first.documents.knownCurrent('demo', first.page), key);
    // Another instance's change is not known here until the validation window has passed.
    await (await second.documents.change('demo', ctx, addVersion('3.0', 3))).derived;
    first.storage.forgetRecentStat('pypi/demo/project.json');
    assert.equal(first.documents.knownCurrent('demo', first.page), undefined, 'a stat to ask again');
    assert.equal(await first.documents.ensureCurrent('demo', first.page, ctx), key);
    assert.deepEqual((await pageOf(first.storage, 'demo'))?.versions, ['1.0', '2.0', '3.0']);
  }, 1, 60_000);
});

test('a document made of part of the truth records that part\'s revision: a change that leaves the part alone writes nothing, a removed one is repaired', async () => {
  interface IShelf {
    revision: string;
    books: string[];
    /** The revision of the last change of `books`. */
    booksRevision: string;
  }
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sr-derived-part-'));
  const puts: string[] = [];
  const storage = new RegistryStorage(new FilesystemBackend(dir), { beforePut: async (hook: IStorageHookContext) => void puts.push(hook.key) });
  await storage.init();
  try {
    const list = derivedDocument<IShelf>(storage, {
      label: 'book list',
      key: (name) => `pypi/${name}/books.json`,
      render: (shelf) => Buffer.from(JSON.stringify({ revision: shelf.booksRevision, books: shelf.books })),
      revisionOfBytes: jsonRevisionOf,
      revisionOf: (shelf) => shelf.booksRevision,
    });
    const documents = new DerivedDocuments<IShelf>(storage, jsonTruth<IShelf>((name) => `pypi/${name}/shelf.json`), [list], new Logger({ level: 'silent' }));
    const change = (books?: string[]) =>
      documents.change('a', ctx, (current) => {
        const revision = nextRevision(current?.revision, 'x');
        return { revision, books: books ?? current!.books, booksRevision: books || !current ? revision : current.booksRevision };
      });
    const read = async () => {
      const key = await documents.ensureCurrent('a', list, ctx);
      return JSON.parse((await storage.getBytes(key))!.bytes.toString()).books;
    };
    await change(['one']);
    assert.deepEqual(await read(), ['one']);
    puts.length = 0;
    await change();
    assert.deepEqual(puts, ['pypi/a/shelf.json'], 'the list is not written again');
    assert.deepEqual(await read(), ['one']);
    assert.deepEqual(puts, ['pypi/a/shelf.json'], 'and a read finds it current');
    await change(['one', 'two']);
    assert.deepEqual(await read(), ['one', 'two']);
    // Removed behind this instance's back: repaired, although this instance remembers having written it.
    await fsp.rm(path.join(dir, 'pypi/a/books.json'));
    await change();
    assert.deepEqual(await read(), ['one', 'two']);
  } finally {
    await storage.destroy();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
