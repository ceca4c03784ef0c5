// The S3 object client's answers to failures: errors shaped as the AWS SDK shapes them (so the S3 error table and
// the error log read them alike), and the SDK's retries of server faults and broken connections (a file body sent
// whole again on each attempt) and of a signature refused for a clock that is off. Against Ceph RGW for real S3 answers, and a loopback HTTP server that fails on purpose.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3ObjectClient } from '../../../ts/core/storage/classes.s3objectclient.js';
import { classifyS3Error } from '../../../ts/core/storage/helpers.s3errors.js';
import { S3Backend } from '../../../ts/core/storage/classes.s3backend.js';
import { skipWithoutCeph, startCephS3, type ICephS3 } from '../../helpers/ceph.js';

const BUCKET = 'objectclient-test';
const skip = skipWithoutCeph("the S3 object client's answers");

interface IErrorShape {
  name: string;
  Code: string;
  $fault: string;
  $metadata: { httpStatusCode: number; requestId?: string; attempts: number };
}

/** A loopback server answering each request with the next of `answers` (the last one repeats), keeping each request's body. */
async function startFailingServer(answers: Array<{ status: number; body?: string; date?: string } | 'reset'>) {
  const seen: Array<{ method: string; body: Buffer; amzDate: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', body: Buffer.concat(chunks), amzDate: String(req.headers['x-amz-date']) });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { etag: '"e"', 'x-amz-request-id': `req-${seen.length}`, ...(answer.date ? { date: answer.date } : {}) });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = new S3ObjectClient({ endpoint: `http://127.0.0.1:${port}`, bucket: BUCKET, region: 'us-east-1', accessKey: 'AK', secretKey: 'SK' });
  return {
    client,
    port,
    seen,
    stop: async () => {
      client.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const s3Xml = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

describe('s3 object client: S3 answers (Ceph RGW)', { skip }, () => {
  let server: ICephS3;
  let client: S3ObjectClient;
  before(async () => {
    server = await startCephS3();
    // The backend creates the bucket.
    const backend = new S3Backend({ ...server.descriptor, bucketName: server.bucketName });
    await backend.init();
    await backend.destroy();
    const { endpoint, port, accessKey, accessSecret } = server.descriptor;
    client = new S3ObjectClient({ endpoint: `http://${endpoint}:${port}`, bucket: server.bucketName, region: 'us-east-1', accessKey, secretKey: accessSecret });
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('a missing key: NoSuchKey from a GET, NotFound from a HEAD (no body), both 404 with the request id', async () => {
    await assert.rejects(client.open({ method: 'GET', key: 'missing/key' }), (error: IErrorShape) => {
      assert.equal(error.name, 'NoSuchKey');
      assert.equal(error.Code, 'NoSuchKey');
      assert.equal(error.$fault, 'client');
      assert.equal(error.$metadata.httpStatusCode, 404);
      assert.equal(error.$metadata.attempts, 1);
      assert.ok(error.$metadata.requestId);
      assert.equal(classifyS3Error(error, 'read'), 'missing');
      return true;
    });
    await assert.rejects(client.send({ method: 'HEAD', key: 'missing/key' }), (error: IErrorShape) => {
      assert.equal(error.name, 'NotFound');
      assert.equal(error.$metadata.httpStatusCode, 404);
      assert.equal(classifyS3Error(error, 'read'), 'missing');
      return true;
    });
  });

  it('wrong credentials: a 403 with the server code, an error on a read, never a missing object', async () => {
    const { endpoint, port, accessKey } = server.descriptor;
    const wrong = new S3ObjectClient({ endpoint: `http://${endpoint}:${port}`, bucket: server.bucketName, region: 'us-east-1', accessKey, secretKey: 'not-the-secret' });
    try {
      await assert.rejects(wrong.open({ method: 'GET', key: 'any/key' }), (error: IErrorShape) => {
        assert.equal(error.$metadata.httpStatusCode, 403);
        assert.equal(error.Code, 'SignatureDoesNotMatch');
        assert.equal(classifyS3Error(error, 'read'), 'unexpected');
        return true;
      });
    } finally {
      wrong.destroy();
    }
  });

  it('a file body goes up whole, signed with its sha256 when given (the engine checks it) and unsigned otherwise', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'objectclient-'));
    try {
      const file = path.join(dir, 'body');
      const bytes = Buffer.alloc(300_000, 9);
      await fsp.writeFile(file, bytes);
      const body = { open: () => fs.createReadStream(file), length: bytes.length };
      const readBack = async (key: string) => {
        const chunks: Buffer[] = [];
        for await (const chunk of await client.open({ method: 'GET', key })) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      };
      await client.send({ method: 'PUT', key: 'file/unsigned', body });
      assert.deepEqual(await readBack('file/unsigned'), bytes);
      await client.send({ method: 'PUT', key: 'file/signed', body, bodySha256: crypto.createHash('sha256').update(bytes).digest('hex') });
      assert.deepEqual(await readBack('file/signed'), bytes);
      await assert.rejects(client.send({ method: 'PUT', key: 'file/lying', body, bodySha256: crypto.createHash('sha256').update('other').digest('hex') }), (error: IErrorShape) => {
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
      });
      await assert.rejects(client.send({ method: 'HEAD', key: 'file/lying' }), (error: IErrorShape) => error.$metadata.httpStatusCode === 404);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('s3 object client: retries', () => {
  it('a 503 SlowDown and a 500 are tried again, and the third attempt answers', async () => {
    const server = await startFailingServer([{ status: 503, body: s3Xml('SlowDown', 'slow down') }, { status: 500, body: s3Xml('InternalError', 'oops') }, { status: 200 }]);
    try {
      const headers = await server.client.send({ method: 'PUT', key: 'retry/ok', body: Buffer.from('document') });
      assert.equal(headers.etag, '"e"');
      assert.deepEqual(server.seen.map((request) => request.body.toString()), ['document', 'document', 'document']);
    } finally {
      await server.stop();
    }
  });

  it('a server failing every time: its last error after three attempts, which the table calls unreachable', async () => {
    const server = await startFailingServer([{ status: 500, body: s3Xml('InternalError', 'We encountered an internal error.') }]);
    try {
      await assert.rejects(server.client.send({ method: 'HEAD', key: 'retry/fails' }), (error: IErrorShape) => {
        assert.equal(error.$metadata.attempts, 3);
        assert.equal(error.$metadata.requestId, 'req-3');
        assert.equal(error.$fault, 'server');
        assert.equal(classifyS3Error(error, 'read'), 'unreachable');
        return true;
      });
      assert.equal(server.seen.length, 3);
    } finally {
      await server.stop();
    }
  });

  it("a clock more than 15 minutes off: signed again with the server's time from its answer", async () => {
    const serverTime = Date.now() + 3_600_000;
    const server = await startFailingServer([
      { status: 403, body: s3Xml('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'), date: new Date(serverTime).toUTCString() },
      { status: 200 },
    ]);
    try {
      await server.client.send({ method: 'HEAD', key: 'clock/skewed' });
      const [refused, accepted] = server.seen.map((request) => Date.parse(request.amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')));
      assert.ok(Math.abs(refused! - Date.now()) < 60_000, 'the first attempt is signed with this machine\'s time');
      assert.ok(Math.abs(accepted! - serverTime) < 60_000, 'the second with the server\'s');
    } finally {
      await server.stop();
    }
  });

  it('a 4xx is not tried again', async () => {
    const server = await startFailingServer([{ status: 412, body: s3Xml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold') }]);
    try {
      await assert.rejects(server.client.send({ method: 'PUT', key: 'retry/lost', body: Buffer.from('x'), headers: { 'if-none-match': '*' } }), (error: IErrorShape) => {
        assert.equal(classifyS3Error(error, 'create'), 'precondition-failed');
        return true;
      });
      assert.equal(server.seen.length, 1);
    } finally {
      await server.stop();
    }
  });

  it('a connection reset before the answer: the file body is opened again and sent whole', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'objectclient-'));
    const server = await startFailingServer(['reset', { status: 200 }]);
    try {
      const file = path.join(dir, 'body');
      await fsp.writeFile(file, Buffer.alloc(100_000, 3));
      await server.client.send({ method: 'PUT', key: 'retry/file', body: { open: () => fs.createReadStream(file), length: 100_000 } });
      assert.equal(server.seen.length, 2);
      for (const request of server.seen) assert.deepEqual(request.body, Buffer.alloc(100_000, 3));
    } finally {
      await server.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('an engine that is not listening: ECONNREFUSED after three attempts, unreachable', async () => {
    const closed = await startFailingServer([{ status: 200 }]);
    await closed.stop();
    const client = new S3ObjectClient({ endpoint: `http://127.0.0.1:${closed.port}`, bucket: BUCKET, region: 'us-east-1', accessKey: 'AK', secretKey: 'SK' });
    try {
      await assert.rejects(client.send({ method: 'GET', key: 'any' }), (error: NodeJS.ErrnoException) => {
        assert.equal(error.code, 'ECONNREFUSED');
        assert.equal(classifyS3Error(error, 'read'), 'unreachable');
        return true;
      });
    } finally {
      client.destroy();
    }
  });
});
