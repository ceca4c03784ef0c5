// Synthetic npm search entries for the search benchmarks (npm and web page): names, descriptions and
// keywords drawn from one small vocabulary, so queries by word, prefix and name all find something.
import type { INpmSearchEntry } from '../ts/npm/interfaces.npm.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'parser', 'stream', 'http', 'cli', 'color', 'date', 'string', 'fast', 'tiny', 'util', 'react', 'vue', 'plugin', 'loader', 'test', 'mock'];

export const word = (i: number) => WORDS[i % WORDS.length];
export const benchName = (i: number) => `${word(i * 7)}-${word(i * 13 + 3)}-${i.toString(36)}`;

export function searchEntry(i: number): INpmSearchEntry {
  return {
    name: benchName(i),
    version: '1.0.0',
    description: `a ${word(i)} ${word(i + 5)} module number ${i}`,
    keywords: [word(i + 2), word(i + 9)],
    date: new Date().toISOString(),
    publisher: 'bench',
    maintainers: ['bench'],
  };
}
