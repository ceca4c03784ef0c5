import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { SigV4Signer } from './helpers.sigv4.js';
import { isNetworkError } from './helpers.unreachable.js';

/**
 * The single-object requests of the hot path (GetObject, HeadObject, PutObject of a known length, DeleteObject)
 * signed with SigV4 (helpers.sigv4.ts) and sent over node:http(s) with a keep-alive agent. The AWS SDK's client
 * spends 1.4-2.5 ms of CPU on each such request (middleware stack, endpoint rules, schema serialisation), this path
 * 0.5-0.9 ms through the backend, and a publish makes 4-6 of them (readme, "CPU per S3 request"). Failures look like the SDK's: an S3
 * answer becomes an error named after its code with `Code`, `$fault` and `$metadata`, a network fault stays
 * Node's error, and both are retried as the SDK's standard mode retries them.
 */

/** A body read from a file: opened again for every attempt. */
export interface IReopenableBody {
  open(): Readable;
  length: number;
}

export interface IS3ObjectRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'DELETE';
  key: string;
  headers?: Record<string, string>;
  body?: Uint8Array | IReopenableBody;
  /** Hex sha256 of the body when the caller has it; bytes are hashed here otherwise, a file body is sent unsigned. */
  bodySha256?: string;
}

export interface IS3ObjectClientOptions {
  /** `http(s)://host[:port]`. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/** Attempts per request, as the SDK's standard retry mode. */
const MAX_ATTEMPTS = 3;
const BASE_DELAY_MS = 100;
/** Statuses worth another attempt (the server failed inside, or asks to slow down). */
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const SOCKETS_PER_HOST = 50;
/** Clocks further apart than this (as the SDK judges it) are corrected; S3 refuses signatures from 15 minutes. */
const CLOCK_SKEW_MS = 5 * 60_000;
const EMPTY_SHA256 = crypto.createHash('sha256').digest('hex');
/** Error bodies are short XML documents; more than this is not read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A key as S3 expects it in a path: every segment percent-encoded, also the characters encodeURIComponent keeps. */
const encodeKey = (key: string) =>
  key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');

const xmlField = (xml: string, name: string) => xml.match(new RegExp(`<${name}>([^<]*)</${name}>`))?.[1];

/** An S3 error answer in the shape the SDK gives it (read by helpers.s3errors.ts and helpers.errortext.ts). */
function s3AnswerError(response: http.IncomingMessage, body: string, attempts: number): Error {
  const status = response.statusCode ?? 0;
  // A HEAD answer has no body: the SDK then names a 404 NotFound and anything else by its status.
  const code = xmlField(body, 'Code') ?? (status === 404 ? 'NotFound' : String(status));
  const error = new Error(xmlField(body, 'Message') ?? `${code} (HTTP ${status})`);
  return Object.assign(error, {
    name: code,
    Code: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: {
      httpStatusCode: status,
      requestId: response.headers['x-amz-request-id'],
      extendedRequestId: response.headers['x-amz-id-2'],
      attempts,
    },
  });
}

async function readErrorBody(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class S3ObjectClient {
  private readonly url: URL;
  private readonly hostname: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly signer: SigV4Signer;
  /** Server time minus this machine's, once an answer showed them apart (see correctClock). */
  private clockOffsetMs = 0;

  constructor(private readonly options: IS3ObjectClientOptions) {
    this.url = new URL(options.endpoint);
    // `[::1]` in a URL, `::1` for node:http.
    this.hostname = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = this.url.protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_HOST })
      : new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_HOST });
    this.signer = new SigV4Signer({ accessKey: options.accessKey, secretKey: options.secretKey, region: options.region });
  }

  /** The headers of a 2xx answer; its body (none, or a few bytes of XML) is dropped. */
  async send(request: IS3ObjectRequest): Promise<http.IncomingHttpHeaders> {
    const response = await this.open(request);
    response.resume();
    return response.headers;
  }

  /**
   * A 2xx answer with its body unread: the caller reads or destroys it. Any other status rejects with the
   * SDK-shaped error; 5xx, 429 and network faults are tried again first.
   */
  async open(request: IS3ObjectRequest): Promise<http.IncomingMessage> {
    const path = `/${this.options.bucket}/${encodeKey(request.key)}`;
    const payloadHash = this.payloadHash(request);
    for (let attempt = 1; ; attempt++) {
      let response: http.IncomingMessage;
      try {
        response = await this.attempt(request, path, payloadHash);
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isNetworkError(error)) {
          await wait(Math.random() * BASE_DELAY_MS * 2 ** (attempt - 1));
          continue;
        }
        throw error;
      }
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      const failure = s3AnswerError(response, await readErrorBody(response).catch(() => ''), attempt);
      // A refused signature (403) is tried again at once when it came from a clock that is off.
      if (this.correctClock(response.headers.date) && status === 403 && attempt < MAX_ATTEMPTS) continue;
      if (attempt < MAX_ATTEMPTS && RETRY_STATUSES.has(status)) {
        await wait(Math.random() * BASE_DELAY_MS * 2 ** (attempt - 1));
        continue;
      }
      throw failure;
    }
  }

  /**
   * A signature is refused when this machine's clock is off by more than 15 minutes from the server's: as the SDK
   * does, sign from then on with the server's time (from an error answer's Date). True when that changed it.
   */
  private correctClock(serverDate: string | undefined): boolean {
    const serverTime = serverDate === undefined ? NaN : Date.parse(serverDate);
    if (Number.isNaN(serverTime)) return false;
    const offset = serverTime - Date.now();
    if (Math.abs(offset - this.clockOffsetMs) < CLOCK_SKEW_MS) return false;
    this.clockOffsetMs = offset;
    return true;
  }

  destroy(): void {
    this.agent.destroy();
  }

  private payloadHash(request: IS3ObjectRequest): string {
    if (request.bodySha256 !== undefined) return request.bodySha256;
    const body = request.body;
    if (body === undefined) return EMPTY_SHA256;
    if (body instanceof Uint8Array) return crypto.createHash('sha256').update(body).digest('hex');
    return 'UNSIGNED-PAYLOAD';
  }

  private async attempt(request: IS3ObjectRequest, path: string, payloadHash: string): Promise<http.IncomingMessage> {
    const body = request.body;
    const length = body === undefined ? undefined : body instanceof Uint8Array ? body.byteLength : body.length;
    const headers: Record<string, string> = {
      ...request.headers,
      host: this.url.host,
      'x-amz-content-sha256': payloadHash,
    };
    if (length !== undefined) headers['content-length'] = String(length);
    this.signer.sign(request.method, path, headers, new Date(Date.now() + this.clockOffsetMs));
    return new Promise((resolve, reject) => {
      const outgoing = this.transport.request(
        { protocol: this.url.protocol, hostname: this.hostname, port: this.url.port, method: request.method, path, headers, agent: this.agent },
        resolve,
      );
      outgoing.on('error', reject);
      if (body === undefined || body instanceof Uint8Array) {
        outgoing.end(body);
        return;
      }
      // An error on either side ends both (the file is closed); after the answer it changes nothing.
      pipeline(body.open(), outgoing, (error) => {
        if (error) reject(error);
      });
    });
  }
}
