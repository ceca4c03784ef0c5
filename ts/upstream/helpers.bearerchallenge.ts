/**
 * The Bearer token flow of registries that hand out tokens (OCI's distribution token auth): a 401 with
 * `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`, then a GET of the realm with those
 * parameters (with the configured credentials), then the request again with the token.
 */
export interface IBearerChallenge {
  realm: string;
  service?: string;
  scope?: string;
}

const PARAM = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;

/** The Bearer challenge of a `WWW-Authenticate` header; null when there is none with a realm. */
export function parseBearerChallenge(header: string | null | undefined): IBearerChallenge | null {
  if (!header) return null;
  const match = /(?:^|,)\s*bearer\s+(.*)$/i.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const param of match[1].matchAll(PARAM)) params[param[1].toLowerCase()] = (param[2] ?? param[3]).replace(/\\(.)/g, '$1');
  if (!params.realm) return null;
  return { realm: params.realm, service: params.service, scope: params.scope };
}

/** The token request URL of a challenge. */
export function tokenRequestUrl(challenge: IBearerChallenge): string {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  if (challenge.scope) url.searchParams.set('scope', challenge.scope);
  return url.toString();
}

/** `{ token }` or `{ access_token }` with an optional `expires_in` (seconds; 60 when absent, as the spec says). */
export function parseTokenResponse(body: unknown): { token: string; expiresInSeconds: number } | null {
  if (typeof body !== 'object' || body === null) return null;
  const record = body as Record<string, unknown>;
  const token = typeof record.token === 'string' ? record.token : typeof record.access_token === 'string' ? record.access_token : null;
  if (!token) return null;
  const expires = typeof record.expires_in === 'number' && record.expires_in > 0 ? record.expires_in : 60;
  return { token, expiresInSeconds: expires };
}
