import { RegistryError } from './classes.registryerror.js';

/**
 * A compiled route pattern. `:name` captures one path segment, `:name+` one or more segments
 * (OCI repository names such as `a/b/c`). Matching runs on the still-encoded path; captured values
 * are percent-decoded afterwards, so `@scope%2fname` arrives as `@scope/name`.
 */
export interface ICompiledPattern {
  regex: RegExp;
  paramNames: string[];
  /**
   * The pattern's text before its first parameter (all of it when it has none): a path that does not start
   * with it is no match, found without running the expression (route tables are tried in order, and most
   * routes a request passes on the way to its own start with another literal, such as npm's `/-/`).
   */
  literalPrefix: string;
}

const PARAM = /:([A-Za-z_][A-Za-z0-9_]*)(\+)?/g;

export function compilePattern(pattern: string): ICompiledPattern {
  const paramNames: string[] = [];
  const firstParam = pattern.search(/:[A-Za-z_]/);
  let regex = '';
  let last = 0;
  for (const match of pattern.matchAll(PARAM)) {
    regex += escapeRegex(pattern.slice(last, match.index));
    paramNames.push(match[1]);
    regex += match[2] ? '(.+)' : '([^/]+)';
    last = match.index! + match[0].length;
  }
  regex += escapeRegex(pattern.slice(last));
  return { regex: new RegExp(`^${regex}$`), paramNames, literalPrefix: firstParam === -1 ? pattern : pattern.slice(0, firstParam) };
}

export function matchPattern(compiled: ICompiledPattern, path: string): Record<string, string> | null {
  if (!path.startsWith(compiled.literalPrefix)) return null;
  const match = compiled.regex.exec(path);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (let index = 0; index < compiled.paramNames.length; index++) {
    const name = compiled.paramNames[index];
    const value = match[index + 1];
    // Most values have nothing encoded: no decoding (it runs on every routed request).
    if (!value.includes('%')) {
      params[name] = value;
      continue;
    }
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      throw RegistryError.invalid(`malformed percent-encoding in ${name}`);
    }
  }
  return params;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A request method in upper case. node:http and fetch hand the usual ones over so already, and
 * `toUpperCase` is a call into the V8 runtime, cold in a process that a download's request wakes.
 */
export function upperCaseMethod(method: string): string {
  return method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'POST' || method === 'DELETE' ? method : method.toUpperCase();
}
