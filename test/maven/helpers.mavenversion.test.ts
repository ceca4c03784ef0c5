import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareMavenVersions } from '../../ts/maven/helpers.mavenversion.js';

// The ascending lists and equalities of Maven's own ComparableVersionTest (Maven 3.8).
const QUALIFIER_ORDER = ['1-alpha2snapshot', '1-alpha2', '1-alpha-123', '1-beta-2', '1-beta123', '1-m2', '1-m11', '1-rc', '1-cr2',
  '1-rc123', '1-SNAPSHOT', '1', '1-sp', '1-sp2', '1-sp123', '1-abc', '1-def', '1-pom-1', '1-1-snapshot', '1-1', '1-2', '1-123'];
const NUMBER_ORDER = ['2.0', '2.0.a', '2-1', '2.0.2', '2.0.123', '2.1.0', '2.1-a', '2.1b', '2.1-c', '2.1-1', '2.1.0.1',
  '2.2', '2.123', '11.a2', '11.a11', '11.b2', '11.b11', '11.m2', '11.m11', '11', '11.a', '11b', '11c', '11m'];
const EQUAL = [
  ['1', '1.0', '1.0.0', '1-0', '1.0-0', '1ga', '1.ga', '1-ga', '1-final', '1-release', '1.0-ga', '1.0.0-final'],
  ['1a', '1-a', '1.0-a'],
  ['1alpha', '1-alpha', '1.0-alpha'],
  ['2.0.a', '2.0.0.a'],
  ['1a1', '1alpha1', '1-alpha-1', '1.0-alpha1'],
  ['1b2', '1-b2', '1-beta-2', '1beta2'],
  ['1m3', '1-m3', '1-milestone-3', '1milestone3'],
  ['1rc', '1cr', '1-rc', '1-cr'],
  ['1x', '1-x', '1.0-x', '1.0.0-x'],
  ['1-SNAPSHOT', '1-snapshot', '1.0-SNAPSHOT'],
];

function assertAscending(list: string[]) {
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      assert.equal(compareMavenVersions(list[i], list[j]), -1, `${list[i]} < ${list[j]}`);
      assert.equal(compareMavenVersions(list[j], list[i]), 1, `${list[j]} > ${list[i]}`);
    }
  }
}

describe('maven version ordering (ComparableVersion)', () => {
  it('orders qualifiers as Maven does', () => assertAscending(QUALIFIER_ORDER));
  it('orders numbers as Maven does', () => assertAscending(NUMBER_ORDER));
  it('treats spellings of one version as equal', () => {
    for (const group of EQUAL) for (const a of group) for (const b of group) assert.equal(compareMavenVersions(a, b), 0, `${a} == ${b}`);
  });
  it('compares numbers of any size numerically', () => {
    assertAscending(['1.9', '1.10', '1.2147483648', '1.9223372036854775807', '1.9223372036854775808', '1.123456789012345678901234567890']);
  });
  it('orders the pairs of Maven\'s versionComparing case', () => {
    const pairs = [['1', '2'], ['1.5', '2'], ['1', '2.5'], ['1.0', '1.1'], ['1.1', '1.2'], ['1.0.0', '1.1'], ['1.0.1', '1.1'], ['1.1', '1.2.0'],
      ['1.0-alpha-1', '1.0'], ['1.0-alpha-1', '1.0-alpha-2'], ['1.0-alpha-1', '1.0-beta-1'], ['1.0-beta-1', '1.0-SNAPSHOT'],
      ['1.0-SNAPSHOT', '1.0'], ['1.0-alpha-1-SNAPSHOT', '1.0-alpha-1'], ['1.0', '1.0-1'], ['1.0-1', '1.0-2'], ['1.0.0', '1.0-1'],
      ['2.0-1', '2.0.1'], ['2.0.1-klm', '2.0.1-lmn'], ['2.0.1', '2.0.1-xyz'], ['2.0.1', '2.0.1-123'], ['2.0.1-xyz', '2.0.1-123']];
    for (const pair of pairs) assertAscending(pair);
  });
  it('keeps the order transitive (MNG-5568), compares long numbers (MNG-6572) and qualifiers after -0 (MNG-6964)', () => {
    assertAscending(['6.1.0rc3', '6.1.0', '6.1H.5-beta']);
    assertAscending(['1-0.alpha', '1-0.beta', '1']);
    assertAscending(['20190126.230843', '1234567890.12345', '123456789012345.1H.5-beta', '12345678901234567890.1H.5-beta']);
  });
  it('ignores leading zeroes and letter case in any locale', () => {
    const ones = ['0000000000000000001', '000000000000000001', '00000000000000000001', '0000000000000000000000001', '1'];
    const zeroes = ['0000000000000000000', '000000000000000000', '00000000000000000000', '0000000000000000000000000', '0'];
    for (const group of [ones, zeroes]) for (const a of group) for (const b of group) assert.equal(compareMavenVersions(a, b), 0, `${a} == ${b}`);
    assert.equal(compareMavenVersions('1-abcdefghijklmnopqrstuvwxyz', '1-ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 0);
  });
  it('sorts a version list', () => {
    assert.deepEqual(['1.10', '1.0-SNAPSHOT', '1.2', '1.0', '1.0-rc1'].sort(compareMavenVersions), ['1.0-rc1', '1.0-SNAPSHOT', '1.0', '1.2', '1.10']);
  });
});
