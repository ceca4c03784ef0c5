import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { borrowResponseBody, discardResponseBody } from '../core/helpers.response.js';
import { isWebReadableStream, LentBytes, webToNode } from '../core/helpers.stream.js';
import { countStreamedBytes } from '../core/helpers.streamedbytes.js';
import type { IRequestContext, IRequestHandler, TRequestBody } from '../core/interfaces.core.js';
import { queryToRecord, splitRequestTarget } from './helpers.adapter.js';

type TNext = (error?: unknown) => void;
type TExpressRequest = IncomingMessage & { body?: unknown; rawBody?: Uint8Array; _body?: boolean };

/**
 * A node:http request listener that is also Express/Connect middleware: the raw request stream goes
 * in, the response body is piped out with backpressure, a client abort ends the work.
 */
export function createNodeHandler(registry: IRequestHandler) {
  return async function smartRegistryHandler(req: TExpressRequest, res: ServerResponse, next?: TNext) {
    let body: ReturnType<typeof borrowResponseBody>;
    // The request body as the registry reads it, through a stream of its own (see the drain below).
    let detachedBody: PassThrough | undefined;
    try {
      const { path, search } = splitRequestTarget(req.url ?? '/');
      const requestBodySource = requestBody(req);
      if (requestBodySource instanceof PassThrough) detachedBody = requestBodySource;
      const ctx: IRequestContext = {
        method: req.method ?? 'GET',
        path,
        headers: req.headers,
        query: queryToRecord(search),
        body: requestBodySource,
        rawBody: req.rawBody,
      };
      // The peer's address: audit events and the per-address login back-off use it. Assigned, not spread in: a
      // spread into a literal is a V8 runtime call on every request.
      const ip = req.socket?.remoteAddress;
      if (ip) ctx.actor = { ip };
      const response = await registry.handleRequest(ctx);
      // Bytes, a Node stream or a Web stream: a byte body is never wrapped in a stream at all.
      const taken = borrowResponseBody(response);
      body = taken;
      const sendBody = taken !== undefined && req.method !== 'HEAD' && response.status !== 204 && response.status !== 304;
      if (!sendBody) discardResponseBody(taken);
      res.writeHead(response.status, response.statusText, response.headers);
      body = undefined; // the response has it from here on
      if (detachedBody && !req.readableEnded && !req.destroyed) {
        // Answered before the body was read (a refusal part-way): the answer goes out now, the end after the body.
        if (sendBody && taken !== undefined) await writeBody(res, taken, false);
        await readToEnd(req, res, detachedBody);
        res.end();
      } else if (!sendBody || taken === undefined) {
        res.end();
      } else if (taken instanceof Uint8Array) {
        // A small document's usual answer: one write, without an async call around it.
        res.end(taken);
      } else {
        await writeBody(res, taken, true);
      }
    } catch (error) {
      // writeHead can throw (an invalid header value): release the file handle or socket behind the body.
      discardResponseBody(body);
      if (next) return next(error);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal server error' }));
    } finally {
      // A request refused before its body was read: drain it so the connection can be reused (off the
      // detached body, which nobody reads any more and whose full buffer would stop the drain). A body
      // nobody piped anywhere node:http drains itself once the answer is sent.
      if (detachedBody && !req.readableEnded && !req.destroyed) {
        req.unpipe();
        req.resume();
      }
    }
  };
}

/**
 * How long the unread rest of a refused body is read and dropped before the connection may close: node:http
 * closes a connection that is not kept alive as soon as its answer has ended, and closing a socket that still
 * receives sends a reset, which takes with it the answer the client had not read yet (it sees EPIPE or
 * ECONNRESET instead of its 413). Clients that send the whole body before they read get the answer too.
 */
const LINGER_MS = 30_000;

/**
 * Reads and drops what is left of the request body (the answer is written, so nothing reads the detached body any
 * more); resolves at its end, when the connection closes, or after LINGER_MS.
 */
function readToEnd(req: IncomingMessage, res: ServerResponse, detachedBody: Readable): Promise<void> {
  // Destroyed without an error: a connection lost from here on is no error of anyone's.
  detachedBody.destroy();
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.off('end', done);
      req.off('close', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, LINGER_MS);
    req.once('end', done);
    req.once('close', done);
    res.once('close', done);
    // Off the detached body, whose full buffer would stop the flow.
    req.unpipe();
    req.resume();
  });
}

/** The answer's bytes or stream into the response; `end: false` leaves the response open. */
async function writeBody(res: ServerResponse, body: NonNullable<ReturnType<typeof borrowResponseBody>>, end: boolean): Promise<void> {
  if (body instanceof LentBytes) {
    // Back to the pool once the response has closed: by then the socket has written them, or never will.
    const lent = body;
    res.once('close', () => lent.giveBack());
    body = lent.bytes;
  }
  if (body instanceof Uint8Array) {
    if (end) res.end(body);
    else res.write(body);
    return;
  }
  const source = isWebReadableStream(body) ? webToNode(body) : body;
  countStreamedBytes(source);
  // pipeline destroys the source when the client goes away mid-download.
  await pipeline(source, res, { end }).catch(() => undefined);
}

/**
 * A body an Express/Connect parser already read; none when the request declares none (neither
 * Content-Length nor Transfer-Encoding: RFC 9112 6.3, as for most GETs); else the raw request as a
 * stream of its own.
 */
function requestBody(req: TExpressRequest): TRequestBody {
  const parsed = req._body === true || (req.body !== undefined && req.readableEnded);
  if (parsed) return req.body as TRequestBody;
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return undefined;
  return detachedBody(req);
}

/**
 * The request body through a stream the registry may destroy when it stops reading (a refusal part-way,
 * a limit): destroying the request itself would reset the connection before the answer is written, and
 * clients that send the whole body before they read (twine) would see no answer at all. The unread rest
 * is drained once the answer is sent (below), as node:http does for a body nobody read.
 */
function detachedBody(req: IncomingMessage): Readable {
  if (req.readableEnded) return req;
  const body = new PassThrough();
  // A client that hangs up mid-body: the registry sees the request's own error (ECONNRESET).
  req.once('error', (error) => body.destroy(error));
  countStreamedBytes(req);
  req.pipe(body);
  return body;
}
