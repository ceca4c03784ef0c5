import { partMatches } from '../core/helpers.scope.js';
import type { IProtocolUpstreamConfig, IUpstreamRegistryConfig, IUpstreamScopeRule } from './interfaces.upstream.js';

/**
 * Which upstreams a name is asked of, and in what order. Patterns use the glob dialect of auth scopes
 * (`partMatches`), so `@company/*` means the same in a scope rule and in a token scope.
 */
export function upstreamAcceptsName(rules: readonly IUpstreamScopeRule[] | undefined, name: string): boolean {
  if (!rules || rules.length === 0) return true;
  if (rules.some((rule) => rule.action === 'exclude' && partMatches(rule.pattern, name))) return false;
  const includes = rules.filter((rule) => rule.action === 'include');
  return includes.length === 0 || includes.some((rule) => partMatches(rule.pattern, name));
}

/** The enabled upstreams, lowest priority first (ties keep configuration order). */
export function upstreamsByPriority(config: IProtocolUpstreamConfig): IUpstreamRegistryConfig[] {
  return config.upstreams
    .map((upstream, index) => ({ upstream, index }))
    .filter(({ upstream }) => upstream.enabled)
    .sort((a, b) => a.upstream.priority - b.upstream.priority || a.index - b.index)
    .map(({ upstream }) => upstream);
}

/** The enabled upstreams that accept `name`, by priority. */
export function selectUpstreams(config: IProtocolUpstreamConfig, name: string): IUpstreamRegistryConfig[] {
  return upstreamsByPriority(config).filter((upstream) => upstreamAcceptsName(upstream.scopeRules, name));
}

/** A client's own marker before the scheme (cargo's `sparse+https://…`) is allowed in an upstream URL; this is the URL without it. */
export const withoutSchemeMarker = (url: string) => url.replace(/^[a-z]+\+(?=https?:)/, '');

const UPSTREAM_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Throws an Error saying what is wrong with one protocol's upstream configuration. */
export function validateUpstreamConfig(where: string, config: IProtocolUpstreamConfig): void {
  if (!Array.isArray(config.upstreams)) throw new Error(`smartregistry: ${where}.upstreams must be a list`);
  const ids = new Set<string>();
  for (const upstream of config.upstreams) {
    if (!UPSTREAM_ID.test(upstream.id ?? '') || upstream.id === '.' || upstream.id === '..') {
      throw new Error(`smartregistry: ${where}: upstream id ${JSON.stringify(upstream.id)} must be 1-64 letters, digits, '.', '_' or '-'`);
    }
    if (ids.has(upstream.id)) throw new Error(`smartregistry: ${where}: upstream id '${upstream.id}' is used twice`);
    ids.add(upstream.id);
    let url: URL;
    try {
      url = new URL(withoutSchemeMarker(upstream.url));
    } catch {
      throw new Error(`smartregistry: ${where}: upstream '${upstream.id}' needs an absolute http(s) url`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`smartregistry: ${where}: upstream '${upstream.id}' needs an http(s) url`);
    const auth = upstream.auth;
    if (auth && auth.type === 'bearer' && !auth.token) throw new Error(`smartregistry: ${where}: upstream '${upstream.id}' has bearer auth without a token`);
    if (auth && auth.type === 'basic' && (auth.username === undefined || auth.password === undefined)) {
      throw new Error(`smartregistry: ${where}: upstream '${upstream.id}' has basic auth without username and password`);
    }
  }
}
