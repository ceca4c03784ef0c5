/**
 * Scope grammar: `{protocol}:{type}:{name}:{action}`, e.g. `npm:package:@scope/name:write`,
 * `oci:repository:library/nginx:pull`, `cargo:*:*:*`. A resource is the same without the action:
 * `{protocol}:{type}:{name}`.
 *
 * Names contain `/` and `@` but never `:`, so protocol and type are split off the front, the action
 * off the back, and the name is what remains. `*` in any part matches anything; a `*` inside a
 * part is a glob that also crosses `/` (`@company/*` matches `@company/a`, `library/*` matches
 * `library/a/b`). A bare `*` scope is shorthand for `*:*:*:*`.
 */

import { BoundedCache } from './classes.boundedcache.js';
import { memoizeBounded } from './helpers.memo.js';

export interface IParsedScope {
  protocol: string;
  type: string;
  name: string;
  action: string;
}

export interface IParsedResource {
  protocol: string;
  type: string;
  name: string;
}

export const FULL_ACCESS_SCOPE = '*:*:*:*';

/** Scopes by text: a token's few scopes are checked on every request it makes. Frozen: the parse is shared. */
const parsedScope = memoizeBounded((scope: string) => {
  const parsed = parseScopeText(scope);
  return parsed && Object.freeze(parsed);
}, 1000);

/** The parsed scope is shared: callers read it, never change it. */
export function parseScope(scope: string): IParsedScope | null {
  return typeof scope === 'string' ? parsedScope(scope) : null;
}

function parseScopeText(scope: string): IParsedScope | null {
  if (scope === '*') return { protocol: '*', type: '*', name: '*', action: '*' };
  const parts = scope.split(':');
  if (parts.length < 4 || parts.some((part) => part === '')) return null;
  return {
    protocol: parts[0],
    type: parts[1],
    name: parts.slice(2, -1).join(':'),
    action: parts[parts.length - 1],
  };
}

export function isValidScope(scope: string): boolean {
  return parseScope(scope) !== null;
}

/** Resources by text: each request names one, and a registry serves a bounded set of names. Frozen: the parse is shared. */
const parsedResource = memoizeBounded((resource: string) => {
  const parsed = parseResourceText(resource);
  return parsed && Object.freeze(parsed);
}, 1000);

/** The parsed resource is shared: callers read it, never change it. */
export function parseResource(resource: string): IParsedResource | null {
  return typeof resource === 'string' ? parsedResource(resource) : null;
}

function parseResourceText(resource: string): IParsedResource | null {
  // Split by hand: this runs on every authorized request.
  const first = resource.indexOf(':');
  const second = resource.indexOf(':', first + 1);
  if (first <= 0 || second === -1 || second === first + 1) return null;
  const name = resource.slice(second + 1);
  // Every part of a name that contains `:` must be non-empty too.
  if (name === '' || name.startsWith(':') || name.endsWith(':') || name.includes('::')) return null;
  return { protocol: resource.slice(0, first), type: resource.slice(first + 1, second), name };
}

const READ_ACTIONS = new Set(['read', 'pull']);
const WRITE_ACTIONS = new Set(['write', 'push']);

export function isReadAction(action: string): boolean {
  return READ_ACTIONS.has(action);
}

/** Does a granted action (from a scope) permit the requested one? */
export function actionGrants(granted: string, requested: string): boolean {
  if (granted === '*') return true;
  // Writing implies reading: a publisher must be able to read what it publishes.
  if (WRITE_ACTIONS.has(granted)) return WRITE_ACTIONS.has(requested) || READ_ACTIONS.has(requested);
  if (READ_ACTIONS.has(granted)) return READ_ACTIONS.has(requested);
  // `delete` and anything else (e.g. `yank`) only grant themselves.
  return granted === requested;
}

/** Compiled patterns: scopes repeat on every request, so each is compiled once. */
const globCache = new BoundedCache<RegExp>({ maxEntries: 1000 });

/** `*` matches any run of characters (including `/`); everything else is literal. */
export function partMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === value;
  let regex = globCache.get(pattern);
  if (!regex) {
    const source = pattern
      .split('*')
      .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 's');
    globCache.set(pattern, regex);
  }
  return regex.test(value);
}

/** Does `scope` permit `action` on `resource` (`{protocol}:{type}:{name}`)? Malformed input grants nothing. */
export function scopeGrants(scope: string, resource: string, action: string): boolean {
  const parsed = parseResource(resource);
  return parsed !== null && grantsParsed(scope, parsed, action);
}

function grantsParsed(scope: string, resource: IParsedResource, action: string): boolean {
  const parsedScope = parseScope(scope);
  if (!parsedScope || !action) return false;
  return (
    partMatches(parsedScope.protocol, resource.protocol) &&
    partMatches(parsedScope.type, resource.type) &&
    partMatches(parsedScope.name, resource.name) &&
    actionGrants(parsedScope.action, action)
  );
}

/** Does any of `scopes` permit `action` on `resource`? The resource is parsed once, not once per scope. */
export function scopesGrant(scopes: readonly string[], resource: string, action: string): boolean {
  const parsed = parseResource(resource);
  if (parsed === null) return false;
  for (const scope of scopes) if (grantsParsed(scope, parsed, action)) return true;
  return false;
}

/** Does any scope reach into `protocol` at all (used to accept a token on another protocol)? */
export function scopesCoverProtocol(scopes: readonly string[], protocol: string): boolean {
  return scopes.some((scope) => {
    const parsed = parseScope(scope);
    return parsed !== null && partMatches(parsed.protocol, protocol);
  });
}
