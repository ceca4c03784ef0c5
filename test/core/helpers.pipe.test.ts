import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import tar from 'tar-stream';
import { pipeStreams, pipeStreamsAsync } from '../../ts/core/helpers.pipe.js';

const collector = () => {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, text: () => Buffer.concat(chunks).toString() };
};

const upperCase = () =>
  new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, Buffer.from(chunk.toString().toUpperCase()));
    },
  });

test('pipe: bytes flow through every stream; the callback comes once the last one finished', async () => {
  const { sink, text } = collector();
  await pipeStreamsAsync(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), upperCase(), sink);
  assert.equal(text(), 'ABCD');
  assert.equal(sink.writableFinished, true);
});

test('pipe: a failing stream in the middle destroys the others with its error', async () => {
  const source = new PassThrough();
  const failing = new Transform({
    transform(_chunk, _encoding, callback) {
      callback(new Error('bad bytes'));
    },
  });
  const { sink } = collector();
  const piped = pipeStreamsAsync(source, failing, sink);
  source.write('x');
  await assert.rejects(piped, /bad bytes/);
  assert.equal(source.destroyed, true);
  assert.equal(sink.destroyed, true);
});

test('pipe: a source closed before its end fails the chain as a premature close', async () => {
  const source = new PassThrough();
  const { sink } = collector();
  const piped = pipeStreamsAsync(source, sink);
  source.write('partial');
  source.destroy();
  await assert.rejects(piped, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
  assert.equal(sink.destroyed, true);
});

test('pipe: the first real error is reported, not the premature closes it causes', async () => {
  const source = new PassThrough();
  const sink = new Writable({
    write(_chunk, _encoding, callback) {
      callback(new Error('storage refused'));
    },
  });
  const error = await new Promise<Error | undefined>((resolve) => {
    pipeStreams([source, new PassThrough(), sink], resolve);
    source.write('x');
  });
  assert.match(String(error), /storage refused/);
  assert.equal(source.destroyed, true);
});

test('pipe: a source that ended whole is left alone when a later stream fails', async () => {
  const source = Readable.from([Buffer.from('whole')], { autoDestroy: false });
  const sink = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
    final(callback) {
      callback(new Error('commit failed'));
    },
  });
  await assert.rejects(pipeStreamsAsync(source, sink), /commit failed/);
  assert.equal(source.readableEnded, true);
  assert.equal(source.destroyed, false);
});

test('pipe: stream-compatible destinations work (tar-stream parses what flows in)', async () => {
  const pack = tar.pack();
  pack.entry({ name: 'hello.txt' }, 'hello');
  pack.finalize();
  const names: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.resume();
    stream.on('end', next);
  });
  await pipeStreamsAsync(pack as unknown as Readable, new PassThrough(), extract as unknown as Writable);
  assert.deepEqual(names, ['hello.txt']);
});
