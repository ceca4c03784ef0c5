import type { AuthManager } from './classes.authmanager.js';
import type { HealthCheck } from './classes.healthcheck.js';
import type { RegistryMetrics } from './classes.registrymetrics.js';
import { jsonResponse, type IHandlerResponse } from './helpers.response.js';
import { parseScope } from './helpers.scope.js';
import type { IRequestContext } from './interfaces.core.js';
import type { IHealthConfig, IMetricsConfig } from './interfaces.operations.js';

export const DEFAULT_METRICS_PATH = '/-/metrics';
export const DEFAULT_HEALTH_PATH = '/-/health';

const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * The operator's endpoints at the host root, answered before any protocol: `/-/health/live`,
 * `/-/health/ready` (unauthenticated, for load balancers and Kubernetes probes) and `/-/metrics`
 * (Prometheus text; a scope when configured). Each is there only when its configuration enables it.
 */
export class OperationsEndpoints {
  private readonly routes = new Map<string, (ctx: IRequestContext) => Promise<IHandlerResponse>>();

  constructor(
    metricsConfig: IMetricsConfig | undefined,
    healthConfig: IHealthConfig | undefined,
    private readonly parts: { metrics?: RegistryMetrics; health?: HealthCheck; auth: () => AuthManager | undefined },
  ) {
    if (healthConfig?.enabled && parts.health) {
      const base = (healthConfig.path ?? DEFAULT_HEALTH_PATH).replace(/\/+$/, '');
      this.routes.set(`${base}/live`, async () => jsonResponse(200, { status: 'live' }, NO_STORE));
      this.routes.set(`${base}/ready`, () => this.ready());
    }
    const metricsPath = metricsConfig?.path ?? DEFAULT_METRICS_PATH;
    if (metricsConfig?.enabled && parts.metrics && metricsPath !== false) {
      this.routes.set(metricsPath, (ctx) => this.metrics(ctx, metricsConfig.scope));
    }
  }

  /** The handler for this path, if it is one of ours. */
  find(path: string): ((ctx: IRequestContext) => Promise<IHandlerResponse>) | undefined {
    return this.routes.size === 0 ? undefined : this.routes.get(path);
  }

  private async ready(): Promise<IHandlerResponse> {
    const readiness = await this.parts.health!.ready();
    return jsonResponse(readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not ready', ...readiness }, NO_STORE);
  }

  private async metrics(ctx: IRequestContext, scope: string | undefined): Promise<IHandlerResponse> {
    if (!['GET', 'HEAD'].includes(ctx.method.toUpperCase())) return jsonResponse(405, { error: 'metrics are read with GET' }, { Allow: 'GET, HEAD' });
    if (scope !== undefined && !(await this.grants(ctx, scope))) {
      return jsonResponse(401, { error: `a token granting ${scope} is required` }, { 'WWW-Authenticate': 'Bearer realm="smartregistry metrics"' });
    }
    const metrics = this.parts.metrics!;
    return { status: 200, headers: { 'Content-Type': metrics.contentType, ...NO_STORE }, body: await metrics.scrape() };
  }

  /** A token (Bearer, or the password of Basic as Prometheus' basic_auth sends it) whose scopes grant `scope`. */
  private async grants(ctx: IRequestContext, scope: string): Promise<boolean> {
    const auth = this.parts.auth();
    const parsed = parseScope(scope);
    const header = Object.entries(ctx.headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
    const value = (Array.isArray(header) ? header[0] : header)?.trim();
    if (!auth || !parsed || !value) return false;
    const [scheme, credentials = ''] = value.split(/\s+/, 2);
    let tokenText = credentials;
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      tokenText = decoded.slice(decoded.indexOf(':') + 1);
    } else if (scheme.toLowerCase() !== 'bearer') {
      return false;
    }
    const token = tokenText ? await auth.validateToken(tokenText) : null;
    return auth.authorize(token, `${parsed.protocol}:${parsed.type}:${parsed.name}`, parsed.action);
  }
}
