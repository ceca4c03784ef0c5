import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoizeBounded } from '../../ts/core/helpers.memo.js';

describe('memoizeBounded', () => {
  it('computes once per key and hands every caller the same value, null included', () => {
    const computed: string[] = [];
    const parse = memoizeBounded((text: string) => {
      computed.push(text);
      return text === 'bad' ? null : { text };
    }, 10);
    const first = parse('a');
    assert.equal(parse('a'), first);
    assert.equal(parse('bad'), null);
    assert.equal(parse('bad'), null);
    assert.deepEqual(computed, ['a', 'bad']);
  });

  it('starts afresh when full, so it never holds more than its bound', () => {
    const computed: number[] = [];
    const square = memoizeBounded((n: number) => {
      computed.push(n);
      return n * n;
    }, 2);
    assert.equal(square(2), 4);
    assert.equal(square(3), 9);
    assert.equal(square(4), 16); // full: forgets 2 and 3
    assert.equal(square(4), 16);
    assert.equal(square(2), 4);
    assert.deepEqual(computed, [2, 3, 4, 2]);
  });
});
