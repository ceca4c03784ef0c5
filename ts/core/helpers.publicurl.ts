/**
 * The URL clients reach a protocol at, for links in answers (tarball URLs, the OCI token realm,
 * Location headers, the npm login page). A link built from a header an attacker sets points clients
 * — and the credentials they send — elsewhere, so `X-Forwarded-*` count only when the operator says a
 * proxy in front sets them (`trustProxy`); a configured `registryUrl` beats every header.
 */

export interface IPublicUrlOptions {
  /** The protocol's configured public URL, if any. */
  registryUrl?: string;
  /** Read `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix`. */
  trustProxy: boolean;
  /** The protocol's basePath as mounted ('' at the host root). */
  publicBasePath: string;
  /**
   * The protocol's configured basePath. A request that came in on another mount of the protocol (OCI's
   * host-root `/v2`) gets links for that mount: `registryUrl` with this basePath swapped for `publicBasePath`.
   */
  basePath?: string;
}

export interface IPublicUrls {
  /** Scheme, host and port, e.g. `https://registry.example.com`. */
  hostUrl: string;
  /** The protocol's URL without trailing slash, e.g. `https://registry.example.com/npm`. */
  baseUrl: string;
}

/** Host names, IPv4/IPv6 literals and a port: nothing that could end the authority part of a URL. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._~-]+$/;
const FALLBACK_HOST = 'localhost';

/** First value of a header a proxy chain may have appended to (`a, b`). */
const firstValue = (value: string | undefined) => value?.split(',')[0].trim() || undefined;

const validHost = (value: string | undefined) => (value !== undefined && HOST.test(value) ? value : undefined);

/** `/registry/` → `/registry`; anything but plain path segments → '' (ignored). */
function normalizePrefix(value: string | undefined): string {
  const segments = (value ?? '').split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => !PREFIX_SEGMENT.test(segment) || segment === '.' || segment === '..')) return '';
  return segments.map((segment) => `/${segment}`).join('');
}

/** `registryUrl` for the mount the request came in on. */
function mountedUrl(registryUrl: string, options: IPublicUrlOptions): string {
  const { basePath, publicBasePath } = options;
  if (basePath === undefined || publicBasePath === basePath) return registryUrl;
  const root = basePath !== '' && registryUrl.endsWith(basePath) ? registryUrl.slice(0, -basePath.length) : new URL(registryUrl).origin;
  return `${root}${publicBasePath}`;
}

/** `headers` with lower-case names. */
export function resolvePublicUrls(headers: Record<string, string>, options: IPublicUrlOptions): IPublicUrls {
  if (options.registryUrl) {
    const configured = options.registryUrl.replace(/\/+$/, '');
    return { hostUrl: new URL(configured).origin, baseUrl: mountedUrl(configured, options) };
  }
  const host = validHost(headers.host) ?? FALLBACK_HOST;
  if (!options.trustProxy) {
    const hostUrl = `http://${host}`;
    return { hostUrl, baseUrl: `${hostUrl}${options.publicBasePath}` };
  }
  const proto = firstValue(headers['x-forwarded-proto'])?.toLowerCase();
  const hostUrl = `${proto === 'https' ? 'https' : 'http'}://${validHost(firstValue(headers['x-forwarded-host'])) ?? host}`;
  return { hostUrl, baseUrl: `${hostUrl}${normalizePrefix(firstValue(headers['x-forwarded-prefix']))}${options.publicBasePath}` };
}
