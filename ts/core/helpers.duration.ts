import { RegistryError } from './classes.registryerror.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A duration from configuration or a command line: milliseconds as a number, or a string of whole
 * numbers with units, `90s`, `30m`, `1h30m`, `7d`, `2w` (ms, s, m, h, d, w). `what` names the setting
 * in the error.
 */
export function parseDuration(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw RegistryError.invalid(`${what} must be a whole number of milliseconds, not ${value}`);
  }
  const text = String(value).trim();
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw RegistryError.invalid(`${what} must be a duration such as 90s, 30m, 1h or 7d, not ${JSON.stringify(value)}`);
  }
  const ms = parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * UNIT_MS[unit], 0);
  if (!Number.isSafeInteger(ms)) throw RegistryError.invalid(`${what} is too long: ${JSON.stringify(value)}`);
  return ms;
}
