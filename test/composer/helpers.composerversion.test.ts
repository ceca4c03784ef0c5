import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidComposerVersionError,
  compareNormalizedVersions,
  composerStability,
  isDevVersion,
  normalizeComposerBranch,
  normalizeComposerVersion,
} from '../../ts/composer/helpers.composerversion.js';

// The cases composer/semver's VersionParserTest documents for normalize(), normalizeBranch() and parseStability().
const NORMALIZED: [string, string][] = [
  ['1.0.0', '1.0.0.0'],
  ['1.2.3.4', '1.2.3.4'],
  ['1.0.0RC1dev', '1.0.0.0-RC1-dev'],
  ['1.0.0-rC15-dev', '1.0.0.0-RC15-dev'],
  ['1.0.0.RC.15-dev', '1.0.0.0-RC15-dev'],
  ['1.0.0-rc1', '1.0.0.0-RC1'],
  ['1.0.0.pl3-dev', '1.0.0.0-patch3-dev'],
  ['1.0-dev', '1.0.0.0-dev'],
  ['0', '0.0.0.0'],
  ['99999', '99999.0.0.0'],
  ['10.4.13-beta', '10.4.13.0-beta'],
  ['10.4.13beta2', '10.4.13.0-beta2'],
  ['10.4.13beta.2', '10.4.13.0-beta2'],
  ['v1.13.11-beta.0', '1.13.11.0-beta0'],
  ['1.13.11.0-beta0', '1.13.11.0-beta0'],
  ['10.4.13-b', '10.4.13.0-beta'],
  ['10.4.13-b5', '10.4.13.0-beta5'],
  ['v1.0.0', '1.0.0.0'],
  ['2010.01', '2010.01.0.0'],
  ['2010.01.02', '2010.01.02.0'],
  ['2010.1.555', '2010.1.555.0'],
  ['2010.10.200', '2010.10.200.0'],
  ['20230131.0.0', '20230131.0.0'],
  ['202301310000.0.0', '202301310000.0.0'],
  ['v20100102', '20100102'],
  ['20100102', '20100102'],
  ['20100102.0', '20100102.0'],
  ['20100102.1.0', '20100102.1.0'],
  ['20100102.0.3', '20100102.0.3'],
  ['100000', '100000'],
  ['2010-01-02-10-20-30.0.3', '2010.01.02.10.20.30.0.3'],
  ['2010-01-02-10-20-30.5', '2010.01.02.10.20.30.5'],
  ['2010-01-02', '2010.01.02'],
  ['2012.06.07', '2012.06.07.0'],
  ['2010-01-02.5', '2010.01.02.5'],
  ['20100102-203040', '20100102.203040'],
  ['20100102.x-dev', '20100102.9999999.9999999.9999999-dev'],
  ['20100102.203040.x-dev', '20100102.203040.9999999.9999999-dev'],
  ['20100102203040-10', '20100102203040.10'],
  ['20100102-203040-p1', '20100102.203040-patch1'],
  ['201903.0', '201903.0'],
  ['201903.x-dev', '201903.9999999.9999999.9999999-dev'],
  ['201903.0-p2', '201903.0-patch2'],
  ['dev-master', 'dev-master'],
  ['master', 'dev-master'],
  ['dev-trunk', 'dev-trunk'],
  ['1.x-dev', '1.9999999.9999999.9999999-dev'],
  ['dev-feature-foo', 'dev-feature-foo'],
  ['DEV-FOOBAR', 'dev-FOOBAR'],
  ['dev-feature/foo', 'dev-feature/foo'],
  ['dev-feature+issue-1', 'dev-feature+issue-1'],
  ['dev-master as 1.0.0', 'dev-master'],
  ['dev-load-varnish-only-when-used as ^2.0', 'dev-load-varnish-only-when-used'],
  ['dev-load-varnish-only-when-used@dev as ^2.0@dev', 'dev-load-varnish-only-when-used'],
  ['1.0.0+foo@dev', '1.0.0.0'],
  ['dev-load-varnish-only-when-used@stable', 'dev-load-varnish-only-when-used'],
  ['1.0.0-beta.5+foo', '1.0.0.0-beta5'],
  ['1.0.0+foo', '1.0.0.0'],
  ['1.0.0-alpha.3.1+foo', '1.0.0.0-alpha3.1'],
  ['1.0.0-alpha2.1+foo', '1.0.0.0-alpha2.1'],
  ['1.0.0-alpha-2.1-3+foo', '1.0.0.0-alpha2.1-3'],
  ['1.0.0+foo as 2.0', '1.0.0.0'],
  ['00.01.03.04', '00.01.03.04'],
  ['000.001.003.004', '000.001.003.004'],
  ['0.000.103.204', '0.000.103.204'],
  ['0700', '0700.0.0.0'],
  ['041.x-dev', '041.9999999.9999999.9999999-dev'],
  ['dev-041.003', 'dev-041.003'],
  ['dev-1.0.0-dev<1.0.5-dev', 'dev-1.0.0-dev<1.0.5-dev'],
  ['dev-foo bar', 'dev-foo bar'],
  [' 1.0.0', '1.0.0.0'],
  ['1.0.0 ', '1.0.0.0'],
];

const INVALID = [
  '', 'a', '1.0.0-meh', '1.0.0.0.0', 'feature-foo', '1.0.0+foo bar', '1.0.1-SNAPSHOT', '1.0.0<1.0.5-dev', '1.0.0-dev<1.0.5-dev',
  'foo bar-dev', '1.0 .2', ' as ', ' as 1.2', '^', '^8 || ^', '~', '~1 ~', '~1', '^1', '1.*', '20100102.0.3.4', '100000.0.0.0',
  '2023013.0.0', '202301311.0.0', '20230131000.0.0', '2023013100000.0.0',
];

const BRANCHES: [string, string][] = [
  ['v1.x', '1.9999999.9999999.9999999-dev'],
  ['v1.*', '1.9999999.9999999.9999999-dev'],
  ['v1.0', '1.0.9999999.9999999-dev'],
  ['2.0', '2.0.9999999.9999999-dev'],
  ['v1.0.x', '1.0.9999999.9999999-dev'],
  ['v1.0.3.*', '1.0.3.9999999-dev'],
  ['v2.4.0', '2.4.0.9999999-dev'],
  ['2.4.4', '2.4.4.9999999-dev'],
  ['master', 'dev-master'],
  ['trunk', 'dev-trunk'],
  ['feature-a', 'dev-feature-a'],
  ['FOOBAR', 'dev-FOOBAR'],
  ['feature+issue-1', 'dev-feature+issue-1'],
];

const STABILITIES: [string, string][] = [
  ['1', 'stable'], ['1.0', 'stable'], ['3.2.1', 'stable'], ['v3.2.1', 'stable'], ['v2.0.x-dev', 'dev'], ['v2.0.x-dev#abc123', 'dev'],
  ['v2.0.x-dev#trunk/@123', 'dev'], ['3.0-RC2', 'RC'], ['dev-master', 'dev'], ['3.1.2-dev', 'dev'], ['dev-feature+issue-1', 'dev'],
  ['3.1.2-p1', 'stable'], ['3.1.2-pl2', 'stable'], ['3.1.2-patch', 'stable'], ['3.1.2-alpha5', 'alpha'], ['3.1.2-beta', 'beta'],
  ['2.0B1', 'beta'], ['1.2.0a1', 'alpha'], ['1.2_a1', 'alpha'], ['2.0.0rc1', 'RC'], ['1.0.0-alpha11+cs-1.1.0', 'alpha'],
  ['1-2_dev', 'dev'],
];

describe('Composer version normalisation (composer/semver VersionParser)', () => {
  it('normalises every documented version', () => {
    for (const [input, expected] of NORMALIZED) assert.equal(normalizeComposerVersion(input), expected, JSON.stringify(input));
  });

  it('refuses every documented invalid version', () => {
    for (const input of INVALID) assert.throws(() => normalizeComposerVersion(input), InvalidComposerVersionError, JSON.stringify(input));
  });

  it('normalises branch names', () => {
    for (const [input, expected] of BRANCHES) assert.equal(normalizeComposerBranch(input), expected, input);
  });

  it('reads the stability of a version', () => {
    for (const [input, expected] of STABILITIES) assert.equal(composerStability(input), expected, input);
  });

  it('tells dev branches from tagged versions by the normalised form', () => {
    assert.equal(isDevVersion('dev-main'), true);
    assert.equal(isDevVersion('1.9999999.9999999.9999999-dev'), true);
    assert.equal(isDevVersion('1.0.0.0-beta2'), false);
    assert.equal(isDevVersion('1.0.0.0'), false);
  });

  it('orders normalised tagged versions: numbers, then alpha < beta < RC < release < patch', () => {
    const ascending = ['1.0.0.0-alpha1', '1.0.0.0-beta1', '1.0.0.0-beta2', '1.0.0.0-RC1', '1.0.0.0', '1.0.0.0-patch1', '1.0.1.0', '1.10.0.0', '2010.01.02'];
    const shuffled = [...ascending].reverse();
    assert.deepEqual(shuffled.sort(compareNormalizedVersions), ascending);
    assert.equal(compareNormalizedVersions('1.0.0.0', '1.0.0.0'), 0);
  });
});
