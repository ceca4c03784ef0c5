import { Readable, Transform } from 'node:stream';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { streamToBuffer } from '../core/helpers.stream.js';
import { UpstreamFailure } from './classes.upstreamfailure.js';
import { parseBearerChallenge, parseTokenResponse, tokenRequestUrl, type IBearerChallenge } from './helpers.bearerchallenge.js';
import type { IUpstreamRegistryConfig } from './interfaces.upstream.js';
import { withoutSchemeMarker } from './helpers.upstreamselect.js';

/**
 * Outbound HTTP to upstreams, on Node's built-in `fetch` (undici): it follows redirects across origins and
 * drops `Authorization` on a hop to another origin (a registry's 307 to a CDN), and one AbortSignal ends
 * the request and its body. Our credentials go only to the upstream's own origin; Bearer challenges are
 * answered with the token flow; idempotent requests are retried with exponential back-off.
 */

/** How patient one request is (from the protocol's `resilience` configuration). */
export interface IUpstreamHttpOptions {
  timeoutMs: number;
  retries: number;
  retryBaseMs: number;
}

export interface IUpstreamAnswer {
  status: number;
  headers: Headers;
  /** Where the answer came from, after redirects. */
  url: string;
}

export interface IUpstreamDocumentAnswer extends IUpstreamAnswer {
  /** The body of a 200; empty for anything else. */
  body: Buffer;
}

export interface IUpstreamStreamAnswer extends IUpstreamAnswer {
  /** The body of a 200, its timeout running between bytes; null for anything else. */
  body: Readable | null;
}

/** Statuses returned to the caller as answers; every other one is a failure of the upstream. */
const ANSWER_STATUSES = new Set([200, 304, 404, 410]);
const TOKEN_CACHE_ENTRIES = 1000;
/** A token is not used in its last seconds, so it cannot expire on the way. */
const TOKEN_MARGIN_SECONDS = 10;
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class UpstreamHttp {
  private readonly tokens = new BoundedCache<string>({ maxEntries: TOKEN_CACHE_ENTRIES });
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(sleep?: (ms: number) => Promise<void>) {
    this.sleep = sleep ?? defaultSleep;
  }

  /** GET a metadata document: the timeout covers headers and body, the body is read up to `maxBytes`. */
  getDocument(
    upstream: IUpstreamRegistryConfig,
    url: string,
    headers: Record<string, string>,
    maxBytes: number,
    options: IUpstreamHttpOptions,
  ): Promise<IUpstreamDocumentAnswer> {
    return this.withRetries(options, async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      try {
        const response = await this.send(upstream, url, headers, controller.signal);
        if (response.status !== 200) {
          await response.body?.cancel().catch(() => undefined);
          return { status: response.status, headers: response.headers, url: response.url || url, body: Buffer.alloc(0) };
        }
        const body = await streamToBuffer(response.body ? Readable.fromWeb(response.body as never) : null, maxBytes).catch((error: unknown) => {
          throw controller.signal.aborted ? error : new UpstreamFailure(upstream.id, 'invalid', `the document at ${url} is larger than ${maxBytes} bytes or broke off`, { cause: error });
        });
        return { status: 200, headers: response.headers, url: response.url || url, body };
      } catch (error) {
        throw this.failure(upstream, url, error, controller.signal, options);
      } finally {
        clearTimeout(timer);
      }
    });
  }

  /**
   * GET an artifact: the timeout covers the wait for headers and then every pause between bytes of the
   * body; `signal` (our client went away) ends it. The body must be read or destroyed.
   */
  openStream(
    upstream: IUpstreamRegistryConfig,
    url: string,
    headers: Record<string, string>,
    options: IUpstreamHttpOptions,
    signal?: AbortSignal,
  ): Promise<IUpstreamStreamAnswer> {
    return this.withRetries(options, async () => {
      const controller = new AbortController();
      const abortFromClient = () => controller.abort(new Error('the client went away'));
      signal?.addEventListener('abort', abortFromClient, { once: true });
      let timer = setTimeout(() => controller.abort(), options.timeoutMs);
      const stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abortFromClient);
      };
      try {
        const response = await this.send(upstream, url, headers, controller.signal);
        if (response.status !== 200 || !response.body) {
          stop();
          await response.body?.cancel().catch(() => undefined);
          return { status: response.status, headers: response.headers, url: response.url || url, body: null };
        }
        const timeoutMs = options.timeoutMs;
        const failure = (error: unknown) => this.failure(upstream, url, error, controller.signal, options);
        const watched = new Transform({
          transform(chunk, _encoding, callback) {
            clearTimeout(timer);
            timer = setTimeout(() => controller.abort(), timeoutMs);
            callback(null, chunk);
          },
        });
        const source = Readable.fromWeb(response.body as never);
        source.on('error', (error) => watched.destroy(failure(error)));
        watched.on('close', stop);
        source.pipe(watched);
        return { status: 200, headers: response.headers, url: response.url || url, body: watched };
      } catch (error) {
        stop();
        throw this.failure(upstream, url, error, controller.signal, options);
      }
    });
  }

  // ---- one request, with auth ----------------------------------------------------------------

  private async send(upstream: IUpstreamRegistryConfig, url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const response = await fetch(url, { headers: { ...headers, ...this.credentials(upstream, url) }, signal, redirect: 'follow' });
    if (response.status === 401) {
      const challenge = parseBearerChallenge(response.headers.get('www-authenticate'));
      if (challenge) {
        await response.body?.cancel().catch(() => undefined);
        const token = await this.bearerToken(upstream, challenge, signal);
        return this.checked(upstream, url, await fetch(url, { headers: { ...headers, authorization: `Bearer ${token}` }, signal, redirect: 'follow' }));
      }
    }
    return this.checked(upstream, url, response);
  }

  private async checked(upstream: IUpstreamRegistryConfig, url: string, response: Response): Promise<Response> {
    if (ANSWER_STATUSES.has(response.status)) return response;
    await response.body?.cancel().catch(() => undefined);
    throw new UpstreamFailure(upstream.id, 'status', `GET ${url} answered ${response.status}`, { status: response.status });
  }

  /** The configured credentials, for the upstream's own origin only. */
  private credentials(upstream: IUpstreamRegistryConfig, url: string): Record<string, string> {
    const auth = upstream.auth;
    if (!auth || auth.type === 'none' || new URL(url).origin !== new URL(withoutSchemeMarker(upstream.url)).origin) return {};
    if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }

  private async bearerToken(upstream: IUpstreamRegistryConfig, challenge: IBearerChallenge, signal: AbortSignal): Promise<string> {
    const tokenUrl = tokenRequestUrl(challenge);
    const cacheKey = `${upstream.id}\n${tokenUrl}`;
    const cached = this.tokens.get(cacheKey);
    if (cached) return cached;
    const auth = upstream.auth;
    const headers: Record<string, string> =
      auth?.type === 'basic' ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
    const response = await fetch(tokenUrl, { headers, signal, redirect: 'follow' });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpstreamFailure(upstream.id, 'status', `the token request to ${challenge.realm} answered ${response.status}`, { status: response.status });
    }
    const body = await streamToBuffer(response.body ? Readable.fromWeb(response.body as never) : null, MAX_TOKEN_RESPONSE_BYTES);
    let parsed: ReturnType<typeof parseTokenResponse> = null;
    try {
      parsed = parseTokenResponse(JSON.parse(body.toString('utf8')));
    } catch {
      parsed = null;
    }
    if (!parsed) throw new UpstreamFailure(upstream.id, 'invalid', `the token response of ${challenge.realm} has no token`);
    const lifetime = Math.max(0, parsed.expiresInSeconds - TOKEN_MARGIN_SECONDS) * 1000;
    if (lifetime > 0) this.tokens.set(cacheKey, parsed.token, { expiresAt: Date.now() + lifetime });
    return parsed.token;
  }

  // ---- failures and retries ------------------------------------------------------------------

  private failure(upstream: IUpstreamRegistryConfig, url: string, error: unknown, signal: AbortSignal, options: IUpstreamHttpOptions): UpstreamFailure {
    if (error instanceof UpstreamFailure) return error;
    if (signal.aborted) {
      const reason = signal.reason;
      if (reason instanceof Error && reason.name !== 'AbortError' && reason.name !== 'TimeoutError') {
        return new UpstreamFailure(upstream.id, 'invalid', `GET ${url} was abandoned: ${reason.message}`, { cause: reason });
      }
      return new UpstreamFailure(upstream.id, 'timeout', `GET ${url} took longer than ${options.timeoutMs} ms`, { cause: error });
    }
    return new UpstreamFailure(upstream.id, 'network', `GET ${url} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }

  private async withRetries<T>(options: IUpstreamHttpOptions, attempt: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        const retryable = error instanceof UpstreamFailure && (error.countsAgainstUpstream || error.status === 429);
        if (!retryable || retry >= options.retries) throw error;
        await this.sleep(options.retryBaseMs * 2 ** retry);
      }
    }
  }
}
