/**
 * An upstream that did not answer usefully: no connection, a timeout, a 5xx, or an answer we cannot
 * use. Kept apart from RegistryError: it is about one upstream, and the proxy decides (other
 * upstreams, the cache) what the client finally sees.
 */
export class UpstreamFailure extends Error {
  constructor(
    readonly upstreamId: string,
    readonly kind: 'timeout' | 'network' | 'status' | 'invalid' | 'circuit-open',
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(`upstream ${upstreamId}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UpstreamFailure';
    this.status = options?.status;
  }

  readonly status?: number;

  /** Is this the upstream's health (counts for its circuit), rather than a problem of one answer? */
  get countsAgainstUpstream(): boolean {
    return this.kind === 'timeout' || this.kind === 'network' || (this.kind === 'status' && (this.status ?? 500) >= 500);
  }
}
