/**
 * Composer's version rules (composer/semver's VersionParser, as its tests document them): a version
 * is normalised to four numeric parts and a stability suffix (`1.0` → `1.0.0.0`, `1.0.0RC1dev` →
 * `1.0.0.0-RC1-dev`), date versions keep their parts (`2010-01-02` → `2010.01.02`), numeric branches
 * become `9999999` parts (`1.x-dev` → `1.9999999.9999999.9999999-dev`), anything else named a branch
 * keeps its name behind `dev-`. Pure; no I/O.
 */

export type TComposerStability = 'stable' | 'RC' | 'beta' | 'alpha' | 'dev';

/** After the numbers: `-beta2`, `.RC.15`, `pl3`, `-dev`, each part optional. */
const MODIFIER = '[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\\d+)*)?)?([.-]?dev)?';
const CLASSICAL = new RegExp(`^v?(\\d{1,5})(\\.\\d+)?(\\.\\d+)?(\\.\\d+)?${MODIFIER}$`, 'i');
const DATE = new RegExp(`^v?(\\d{4}(?:[.:-]?\\d{2}){1,6}(?:[.:-]?\\d{1,3}){0,2})${MODIFIER}$`, 'i');
const STABILITY_AT_END = /^(.*?)[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?(?:\+.*)?$/i;
const NUMERIC_BRANCH = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/;
const ALIAS = /^([^,\s]+) +as +([^,\s]+)$/;
const STABILITY_FLAG = /@(?:stable|RC|beta|alpha|dev)$/i;
const BUILD_METADATA = /^([^,\s+]+)\+[^\s]+$/;

export class InvalidComposerVersionError extends Error {}

const SHORT_STABILITIES: Record<string, string> = { a: 'alpha', b: 'beta', p: 'patch', pl: 'patch', rc: 'RC' };
const expandStability = (word: string) => SHORT_STABILITIES[word.toLowerCase()] ?? word.toLowerCase();

/** `1.0.0RC1dev` → `1.0.0.0-RC1-dev`; throws InvalidComposerVersionError for what Composer refuses. */
export function normalizeComposerVersion(input: string): string {
  let version = input.trim();
  const alias = ALIAS.exec(version);
  if (alias) version = alias[1];
  const flag = STABILITY_FLAG.exec(version);
  if (flag) version = version.slice(0, version.length - flag[0].length);
  if (version === 'master' || version === 'trunk' || version === 'default') version = `dev-${version}`;
  if (version.toLowerCase().startsWith('dev-')) return `dev-${version.slice(4)}`;
  const build = BUILD_METADATA.exec(version);
  if (build) version = build[1];

  let matches = CLASSICAL.exec(version);
  let numbers: string | undefined;
  let index = 5;
  if (matches) {
    numbers = `${matches[1]}${matches[2] || '.0'}${matches[3] || '.0'}${matches[4] || '.0'}`;
  } else if ((matches = DATE.exec(version))) {
    numbers = matches[1].replace(/\D/g, '.');
    index = 2;
  }
  if (matches && numbers !== undefined) {
    const stability = matches[index];
    if (stability) {
      if (stability === 'stable') return numbers;
      numbers += `-${expandStability(stability)}${(matches[index + 1] ?? '').replace(/^[.-]+/, '')}`;
    }
    if (matches[index + 2]) numbers += '-dev';
    return numbers;
  }

  // `{numbers}-dev` or `{numbers}.x-dev`: a numeric branch.
  const devBranch = /^(.*?)[.-]?dev$/i.exec(version);
  if (devBranch) {
    const branch = normalizeComposerBranch(devBranch[1]);
    if (!branch.startsWith('dev-')) return branch;
  }
  throw new InvalidComposerVersionError(`Invalid version string "${input}"`);
}

/** A branch name as a version: `1.x` → `1.9999999.9999999.9999999-dev`, `feature-a` → `dev-feature-a`. */
export function normalizeComposerBranch(name: string): string {
  const trimmed = name.trim();
  const numeric = NUMERIC_BRANCH.exec(trimmed);
  if (!numeric) return `dev-${trimmed}`;
  let version = '';
  for (let i = 1; i < 5; i++) version += numeric[i] !== undefined ? numeric[i].replace(/[*X]/g, 'x') : '.x';
  return `${version.replace(/x/g, '9999999')}-dev`;
}

/** The stability of a version as written (`1.0.0-beta2` → beta, `dev-main` and `1.x-dev` → dev). */
export function composerStability(version: string): TComposerStability {
  const plain = version.replace(/#.+$/, '');
  if (plain.startsWith('dev-') || plain.endsWith('-dev')) return 'dev';
  const match = STABILITY_AT_END.exec(plain.toLowerCase());
  if (match?.[4]) return 'dev';
  switch (match?.[2]) {
    case 'beta':
    case 'b':
      return 'beta';
    case 'alpha':
    case 'a':
      return 'alpha';
    case 'rc':
      return 'RC';
    default:
      return 'stable';
  }
}

/** Is this normalised version a dev branch (served in `~dev.json`, replaced by a new upload)? */
export const isDevVersion = (normalized: string) => normalized.startsWith('dev-') || normalized.endsWith('-dev');

const STABILITY_ORDER: Record<string, number> = { dev: 0, alpha: 1, beta: 2, rc: 3, patch: 5 };

/**
 * Order of two normalised tagged versions (`1.2.0.0`, `1.2.0.0-beta2`): numbers first, then a
 * pre-release below its release (`-alpha` < `-beta` < `-RC` < none < `-patch`), then the pre-release's number.
 */
export function compareNormalizedVersions(a: string, b: string): number {
  const parse = (version: string) => {
    const [numbers, suffix = ''] = version.split('-', 2);
    const stability = /^([a-zA-Z]+)(\d*)/.exec(suffix);
    return {
      numbers: numbers.split('.').map((part) => Number.parseInt(part, 10) || 0),
      rank: stability ? (STABILITY_ORDER[stability[1].toLowerCase()] ?? 4) : 4,
      build: stability ? Number.parseInt(stability[2], 10) || 0 : 0,
    };
  };
  const left = parse(a);
  const right = parse(b);
  for (let i = 0; i < Math.max(left.numbers.length, right.numbers.length); i++) {
    const difference = (left.numbers[i] ?? 0) - (right.numbers[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return Math.sign(left.rank - right.rank) || Math.sign(left.build - right.build);
}
