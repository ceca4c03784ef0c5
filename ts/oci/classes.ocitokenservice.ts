import type { AuthManager } from '../core/classes.authmanager.js';
import type { IRouteRequest } from '../core/classes.baseregistry.js';
import { RegistryError } from '../core/classes.registryerror.js';
import type { IHandlerResponse } from '../core/helpers.response.js';
import type { IAuthToken } from '../core/interfaces.auth.js';
import type { IAuthConfig } from '../core/interfaces.core.js';
import { actionGrants, parseScope, partMatches } from '../core/helpers.scope.js';
import { bearerChallenge, expandActions, isValidName, parseRequestedScopes } from './helpers.oci.js';

/**
 * What the token endpoint hands out to anonymous clients when anonymous reads are allowed. It carries
 * no rights: requests bearing it are treated exactly like requests without credentials.
 */
export const ANONYMOUS_TOKEN = 'smartregistry-anonymous';

const DEFAULT_EXPIRES_IN = 3600;
const MAX_FORM_BYTES = 64 * 1024;

export interface ITokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  scope?: string;
}

/** Every value of a query parameter, as a new array (callers append form values to it). */
const allValues = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? [...value] : [value];

/**
 * The registry's own token endpoint (`GET /v2/token`, Docker's token authentication flow, and the
 * OAuth2 `POST` form containerd tries first) and the `WWW-Authenticate` challenge pointing at it.
 */
export class OciTokenService {
  constructor(
    private readonly auth: AuthManager,
    private readonly authConfig: IAuthConfig,
    private readonly anonymousRead: () => boolean,
  ) {}

  get expiresIn(): number {
    return this.authConfig.ociTokens?.expiresIn ?? DEFAULT_EXPIRES_IN;
  }

  /** `auth.ociTokens.realm`, else this endpoint's absolute URL (registryUrl, or the request's Host). */
  realm(req: IRouteRequest | undefined): string {
    const configured = this.authConfig.ociTokens?.realm;
    if (configured) return configured;
    return `${req?.baseUrl ?? ''}/v2/token`;
  }

  service(req: IRouteRequest | undefined): string {
    const configured = this.authConfig.ociTokens?.service;
    if (configured) return configured;
    if (!req) return 'smartregistry';
    try {
      return new URL(req.hostUrl).host;
    } catch {
      return 'smartregistry';
    }
  }

  challenge(req: IRouteRequest | undefined, scope?: string, error?: string): string {
    return bearerChallenge(this.realm(req), this.service(req), scope, error);
  }

  /** GET (Basic credentials or none) and POST (OAuth2 password grant form). */
  async issue(req: IRouteRequest): Promise<IHandlerResponse> {
    const scopeValues = allValues(req.ctx.query.scope as string | string[] | undefined);
    let headers: Record<string, string | string[] | undefined> = req.ctx.headers;
    if (req.method === 'POST') {
      const form = await this.readForm(req);
      const grantType = form.get('grant_type');
      if (grantType !== 'password') {
        throw RegistryError.invalid(`unsupported grant_type ${JSON.stringify(grantType)}: use password (or GET with Basic credentials)`, {
          code: 'UNSUPPORTED',
        });
      }
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      headers = { authorization: `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}` };
      scopeValues.push(...form.getAll('scope'));
    }

    let token: IAuthToken | null;
    try {
      token = await this.auth.authenticateRequest(headers, 'oci', { ip: req.ctx.actor?.ip });
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'unauthorized') throw this.credentialsError(error.message);
      throw error;
    }
    const requested = parseRequestedScopes(scopeValues);
    if (!token) {
      if (!this.anonymousRead()) throw this.credentialsError('credentials are required: send a user name and a password or token');
      return this.respond(ANONYMOUS_TOKEN);
    }

    const granted: string[] = [];
    for (const scope of requested) {
      if (scope.type === 'registry' && scope.name === 'catalog') {
        // The catalog lists what the token may pull: carry over exactly the pull reach of the credentials.
        granted.push(...this.pullReach(token));
        continue;
      }
      if (scope.type !== 'repository' || !isValidName(scope.name)) continue;
      for (const action of expandActions(scope.actions)) {
        if (await this.auth.authorize(token, `oci:repository:${scope.name}`, action)) granted.push(`oci:repository:${scope.name}:${action}`);
      }
    }
    // Never outlive the credentials the token was exchanged for.
    const remaining = token.expiresAt ? Math.floor((token.expiresAt.getTime() - Date.now()) / 1000) : Number.POSITIVE_INFINITY;
    const expiresIn = Math.max(1, Math.min(this.expiresIn, remaining));
    const jwt = await this.auth.createOciToken(token.userId, [...new Set(granted)], expiresIn);
    return this.respond(jwt, expiresIn);
  }

  /** `oci:repository:<pattern>:pull` for every scope of the credentials that reaches OCI repositories with pull. */
  private pullReach(token: IAuthToken): string[] {
    const reach: string[] = [];
    for (const scope of token.scopes ?? []) {
      const parsed = parseScope(scope);
      if (!parsed || !partMatches(parsed.protocol, 'oci') || !partMatches(parsed.type, 'repository')) continue;
      if (actionGrants(parsed.action, 'pull')) reach.push(`oci:repository:${parsed.name}:pull`);
    }
    return reach;
  }

  private respond(token: string, expiresIn = this.expiresIn): IHandlerResponse {
    const body: ITokenResponse = {
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    };
    return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, body };
  }

  /** A 401 on the token endpoint asks for Basic credentials, never for another token. */
  private credentialsError(message: string): RegistryError {
    return RegistryError.unauthorized(message, {
      code: 'UNAUTHORIZED',
      headers: { 'WWW-Authenticate': 'Basic realm="smartregistry"' },
    });
  }

  private async readForm(req: IRouteRequest): Promise<URLSearchParams> {
    const parsed = req.body.parsedValue;
    if (parsed && typeof parsed === 'object') {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
        for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined && item !== null) form.append(key, String(item));
      }
      return form;
    }
    return new URLSearchParams(await req.body.text(MAX_FORM_BYTES));
  }
}
