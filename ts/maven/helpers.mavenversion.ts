/**
 * Maven's version ordering (`ComparableVersion` of Maven 3.8, the one `mvn` on Debian 12 uses):
 * a version is a tree of items — numbers, qualifiers and sub-lists started by `-` or by a change
 * between digits and letters — compared item by item, with known qualifiers in the order
 * alpha < beta < milestone < rc < snapshot < (release) < sp and unknown ones after them, by text.
 */

type TItem = { kind: 'int'; value: bigint } | { kind: 'string'; value: string } | { kind: 'list'; items: TItem[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const SHORT_QUALIFIERS: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone' };

const isDigit = (c: string) => c >= '0' && c <= '9';

function stringItem(text: string, followedByDigit: boolean): TItem {
  let value = followedByDigit && text.length === 1 ? (SHORT_QUALIFIERS[text] ?? text) : text;
  value = ALIASES[value] ?? value;
  return { kind: 'string', value };
}

function parseItem(digits: boolean, text: string): TItem {
  return digits ? { kind: 'int', value: BigInt(text) } : stringItem(text, false);
}

const isNull = (item: TItem): boolean =>
  item.kind === 'int' ? item.value === 0n : item.kind === 'string' ? item.value === '' : item.items.length === 0;

/** Drop trailing null items (`1.0.0` → `1`), stopping at the first sub-list. */
function normalize(list: TItem & { kind: 'list' }): void {
  for (let i = list.items.length - 1; i >= 0; i--) {
    const item = list.items[i];
    if (isNull(item)) list.items.splice(i, 1);
    else if (item.kind !== 'list') break;
  }
}

export function parseMavenVersion(version: string): TItem {
  const text = version.toLowerCase();
  const root: TItem & { kind: 'list' } = { kind: 'list', items: [] };
  let list = root;
  const stack = [root];
  const startList = () => {
    const next: TItem & { kind: 'list' } = { kind: 'list', items: [] };
    list.items.push(next);
    list = next;
    stack.push(next);
  };
  let digits = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.' || c === '-') {
      list.items.push(i === start ? { kind: 'int', value: 0n } : parseItem(digits, text.slice(start, i)));
      start = i + 1;
      if (c === '-') startList();
    } else if (isDigit(c)) {
      if (!digits && i > start) {
        // `1.0.0.X1` < `1.0.0-X2`: a qualifier after a dot is read as if after a dash.
        if (list.items.length > 0) startList();
        list.items.push(stringItem(text.slice(start, i), true));
        start = i;
        startList();
      }
      digits = true;
    } else {
      if (digits && i > start) {
        list.items.push(parseItem(true, text.slice(start, i)));
        start = i;
        startList();
      }
      digits = false;
    }
  }
  if (text.length > start) {
    if (!digits && list.items.length > 0) startList();
    list.items.push(parseItem(digits, text.slice(start)));
  }
  while (stack.length > 0) normalize(stack.pop()!);
  return root;
}

const comparableQualifier = (value: string) => {
  const index = QUALIFIERS.indexOf(value);
  return index === -1 ? `${QUALIFIERS.length}-${value}` : String(index);
};

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `a` compared with `b`; `null` stands for "nothing more" (a shorter version). */
function compareItems(a: TItem, b: TItem | null): number {
  switch (a.kind) {
    case 'int':
      if (!b) return a.value === 0n ? 0 : 1;
      if (b.kind === 'int') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
      return 1;
    case 'string':
      if (!b) return compareText(comparableQualifier(a.value), RELEASE_INDEX);
      if (b.kind === 'string') return compareText(comparableQualifier(a.value), comparableQualifier(b.value));
      return -1;
    case 'list': {
      if (!b) return a.items.length === 0 ? 0 : compareItems(a.items[0], null);
      if (b.kind === 'int') return -1;
      if (b.kind === 'string') return 1;
      for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
        const left = a.items[i] ?? null;
        const right = b.items[i] ?? null;
        const result = left === null ? (right === null ? 0 : -compareItems(right, left)) : compareItems(left, right);
        if (result !== 0) return result;
      }
      return 0;
    }
  }
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in Maven's ordering. */
export function compareMavenVersions(a: string, b: string): number {
  return Math.sign(compareItems(parseMavenVersion(a), parseMavenVersion(b)));
}

/** Versions in Maven's order, each parsed once (a sort comparing strings would parse each many times). */
export function sortMavenVersions(versions: readonly string[]): string[] {
  return versions
    .map((version) => ({ version, item: parseMavenVersion(version) }))
    .sort((a, b) => compareItems(a.item, b.item))
    .map(({ version }) => version);
}

export const isSnapshotVersion = (version: string) => version.endsWith('-SNAPSHOT');
