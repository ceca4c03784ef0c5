import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { clientMissing } from '../helpers/clients.js';
import { RubySymbol, marshalDump, type TRubyValue } from '../../ts/rubygems/helpers.marshal.js';
import { parseGemspecYaml } from '../../ts/rubygems/helpers.gemspec.js';
import {
  compactInfoFile,
  compactInfoLine,
  compactNamesFile,
  compactCreatedAt,
  compactIndexEntry,
  compactVersionsFile,
  compactVersionsLine,
  gemSummary,
  servedVersionChanges,
  compareGemVersions,
  md5Hex,
  parseGemFileBase,
  marshalSpecTuples,
  quickGemspec,
  specsFileMarshal,
} from '../../ts/rubygems/helpers.rubygems.js';
import { isRegistryError } from '../../ts/core/classes.registryerror.js';
import type { IGemDocument, IGemSpec, TServedIndex } from '../../ts/rubygems/interfaces.rubygems.js';
import {
  GEMSPEC_YAML,
  RUBY_DEPENDENCIES_HEX,
  RUBY_EMPTY_ARRAY_HEX,
  RUBY_LATEST_SPECS_HEX,
  RUBY_PRERELEASE_SPECS_HEX,
  RUBY_SCALARS_HEX,
  RUBY_SPECS_HEX,
  RUBY_SPEC_TUPLES_HEX,
} from './rubyvectors.js';

const rubyMissing = clientMissing('ruby', ['--version']);

const spec = (overrides: Partial<IGemSpec>): IGemSpec => ({
  name: 'sr-app',
  version: '1.0.0',
  platform: 'ruby',
  dependencies: [],
  requiredRubyVersion: ['>= 0'],
  requiredRubygemsVersion: ['>= 0'],
  summary: 's',
  description: null,
  authors: ['a'],
  email: null,
  homepage: null,
  licenses: ['MIT'],
  metadata: {},
  rubygemsVersion: '3.3.15',
  specificationVersion: 4,
  ...overrides,
});

const refusal = (yaml: string) => {
  try {
    parseGemspecYaml(yaml);
  } catch (error) {
    assert.ok(isRegistryError(error, 'invalid'), String(error));
    return error.message;
  }
  assert.fail('the YAML was accepted');
};

describe('rubygems Marshal', () => {
  it('writes scalars, links repeated symbols, and matches Ruby byte for byte', () => {
    const value: TRubyValue = [-1, 0, 1, 122, 123, -123, -124, 255, 256, 65536, -256, -257, 1_000_000, -1_000_000, null, true, false, 'ü'];
    assert.equal(marshalDump(value).toString('hex'), RUBY_SCALARS_HEX);
    assert.equal(marshalDump([]).toString('hex'), RUBY_EMPTY_ARRAY_HEX);
    const hash = (name: string, number: string, dependencies: TRubyValue) =>
      new Map<TRubyValue, TRubyValue>([
        [new RubySymbol('name'), name],
        [new RubySymbol('number'), number],
        [new RubySymbol('platform'), 'ruby'],
        [new RubySymbol('dependencies'), dependencies],
      ]);
    const dependencies = [hash('sr-app', '1.0.0', [['sr-base', '>= 1.0, < 2']]), hash('sr-base', '1.1.0', [])];
    assert.equal(marshalDump(dependencies).toString('hex'), RUBY_DEPENDENCIES_HEX);
  });

  it('specs, latest_specs and prerelease_specs are byte-identical to what Ruby writes', () => {
    const index: TServedIndex = {
      'sr-native': [{ version: '2.0.0', platform: 'x86_64-linux' }],
      'sr-base': [{ version: '2.0.0.rc1', platform: 'ruby' }],
      'sr-app': [
        { version: '1.1.0', platform: 'ruby' },
        { version: '1.0.0', platform: 'ruby' },
      ],
    };
    assert.equal(specsFileMarshal(index, 'specs').toString('hex'), RUBY_SPECS_HEX);
    assert.equal(specsFileMarshal(index, 'latest_specs').toString('hex'), RUBY_LATEST_SPECS_HEX);
    assert.equal(specsFileMarshal(index, 'prerelease_specs').toString('hex'), RUBY_PRERELEASE_SPECS_HEX);
  });

  it('spec tuples with a prerelease version are byte-identical to Ruby', () => {
    const bytes = marshalSpecTuples([
      ['sr-app', '1.0.0', 'ruby'],
      ['sr-base', '1.1.0.rc1', 'ruby'],
      ['sr-native', '2.0.0', 'x86_64-linux'],
    ]);
    assert.equal(bytes.toString('hex'), RUBY_SPEC_TUPLES_HEX);
  });

  it('latest_specs holds the newest release per gem and platform; prereleases only in prerelease_specs', () => {
    const index: TServedIndex = {
      a: [
        { version: '1.0.0', platform: 'ruby' },
        { version: '1.10.0', platform: 'ruby' },
        { version: '1.9.0', platform: 'ruby' },
        { version: '3.0.0.beta', platform: 'ruby' },
      ],
    };
    const latest = specsFileMarshal(index, 'latest_specs').toString('latin1');
    assert.match(latest, /1\.10\.0/);
    assert.doesNotMatch(latest, /1\.9\.0|2\.0\.0|3\.0\.0/);
    const all = specsFileMarshal(index, 'specs').toString('latin1');
    assert.ok(all.indexOf('1.0.0') < all.indexOf('1.9.0') && all.indexOf('1.9.0') < all.indexOf('1.10.0'));
    assert.doesNotMatch(all, /beta/);
    assert.match(specsFileMarshal(index, 'prerelease_specs').toString('latin1'), /3\.0\.0\.beta/);
  });

  it('a quick gemspec loads in the real Ruby as that Gem::Specification', { skip: rubyMissing }, () => {
    const bytes = quickGemspec(
      spec({
        name: 'sr-native',
        version: '2.0.0',
        platform: 'x86_64-linux',
        dependencies: [{ name: 'sr-base', requirements: ['>= 1.0', '< 2'], type: 'runtime' }],
        requiredRubyVersion: ['>= 2.7'],
      }),
    );
    const script =
      'require "rubygems"; require "zlib"; s = Marshal.load(Zlib::Inflate.inflate($stdin.read)); ' +
      'puts [s.name, s.version, s.platform, s.dependencies.map(&:to_s).join(";"), s.required_ruby_version].join("|")';
    const result = spawnSync('ruby', ['-e', script], { input: bytes, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'sr-native|2.0.0|x86_64-linux|sr-base (>= 1.0, < 2)|>= 2.7');
    assert.equal(zlib.inflateSync(bytes).subarray(0, 2).toString('hex'), '0408');
  });
});

describe('rubygems compact index', () => {
  const gem: IGemDocument = {
    v: 1,
    revision: '3-abc',
    name: 'sr-app',
    owners: ['admin'],
    versions: {
      '1.0.0': { spec: spec({}), sha256: 'a'.repeat(64), size: 1, createdAt: '2026-01-01T00:00:00.000Z', yanked: false, pushedBy: 'admin', file: 'x' },
      '1.1.0-x86_64-linux': {
        spec: spec({
          version: '1.1.0',
          platform: 'x86_64-linux',
          dependencies: [
            { name: 'sr-base', requirements: ['>= 1.0', '< 2'], type: 'runtime' },
            { name: 'rake', requirements: ['>= 0'], type: 'development' },
            { name: 'json', requirements: ['>= 0'], type: 'runtime' },
          ],
          requiredRubyVersion: ['>= 2.7'],
          requiredRubygemsVersion: ['> 1.3.1'],
        }),
        sha256: 'b'.repeat(64),
        size: 1,
        createdAt: '2026-01-02T00:00:00.000Z',
        yanked: false,
        pushedBy: 'admin',
        file: 'x',
      },
      '0.9.0': { spec: spec({ version: '0.9.0' }), sha256: 'c'.repeat(64), size: 1, createdAt: '2025-01-01T00:00:00.000Z', yanked: true, pushedBy: 'admin', file: 'x' },
    },
  };

  it('info lines: runtime dependencies, checksum, ruby and rubygems requirements, platform versions', () => {
    assert.equal(compactInfoLine(gem.versions['1.0.0'].spec, 'a'.repeat(64)), `1.0.0 |checksum:${'a'.repeat(64)}`);
    assert.equal(
      compactInfoFile(gem),
      `---\n1.0.0 |checksum:${'a'.repeat(64)}\n1.1.0-x86_64-linux sr-base:>= 1.0&< 2,json:>= 0|checksum:${'b'.repeat(64)},ruby:>= 2.7,rubygems:> 1.3.1\n`,
    );
  });

  it('versions header and appended lines carry the MD5 of the info file', () => {
    const createdAt = compactCreatedAt(new Date('2026-12-01T03:04:05.678Z'));
    assert.equal(compactVersionsFile(createdAt, ''), 'created_at: 2026-12-01T03:04:05Z\n---\n');
    assert.equal(compactVersionsFile(createdAt, 'a 1 x\n'), 'created_at: 2026-12-01T03:04:05Z\n---\na 1 x\n');
    const md5 = md5Hex(compactInfoFile(gem));
    assert.equal(compactVersionsLine('sr-app', ['1.1.0-x86_64-linux'], md5), `sr-app 1.1.0-x86_64-linux ${md5}\n`);
    assert.equal(compactVersionsLine('sr-app', ['-1.0.0'], md5), `sr-app -1.0.0 ${md5}\n`);
  });

  it('a compact index entry: served versions with platforms, the revision and the info MD5', () => {
    assert.deepEqual(compactIndexEntry(gem, md5Hex(compactInfoFile(gem))), {
      revision: '3-abc',
      versions: [
        { version: '1.0.0', platform: 'ruby' },
        { version: '1.1.0', platform: 'x86_64-linux' },
      ],
      infoMd5: md5Hex(compactInfoFile(gem)),
    });
  });

  it('changes between served versions: added as they are, gone with a leading -', () => {
    const v = (version: string, platform = 'ruby') => ({ version, platform });
    assert.deepEqual(servedVersionChanges([], [v('1.0'), v('1.0', 'java')]), ['1.0', '1.0-java']);
    assert.deepEqual(servedVersionChanges([v('1.0'), v('1.1')], [v('1.0')]), ['-1.1']);
    assert.deepEqual(servedVersionChanges([v('1.0')], [v('1.1')]), ['1.1', '-1.0']);
    assert.deepEqual(servedVersionChanges([v('1.0')], [v('1.0')]), []);
  });

  it('the summary describes the newest served release; none when every version is yanked', () => {
    const summary = gemSummary(gem);
    assert.equal(summary?.version, '1.1.0');
    assert.equal(summary?.platform, 'x86_64-linux');
    assert.equal(summary?.sha, 'b'.repeat(64));
    assert.deepEqual(summary?.dependencies.runtime, [
      { name: 'sr-base', requirements: '>= 1.0, < 2' },
      { name: 'json', requirements: '>= 0' },
    ]);
    assert.deepEqual(summary?.dependencies.development, [{ name: 'rake', requirements: '>= 0' }]);
    const yanked = structuredClone(gem);
    for (const record of Object.values(yanked.versions)) record.yanked = true;
    assert.equal(gemSummary(yanked), null);
  });

  it('the summary: a release over a higher prerelease, the highest prerelease when there is no release, the first served of equal versions', () => {
    const record = (version: string, day: number, platform = 'ruby') => ({
      spec: spec({ version, platform }),
      sha256: String(day).repeat(64).slice(0, 64),
      size: 1,
      createdAt: `2026-01-0${day}T00:00:00.000Z`,
      yanked: false,
      pushedBy: 'admin',
      file: 'x',
    });
    const withVersions = (...records: ReturnType<typeof record>[]) => ({ ...gem, versions: Object.fromEntries(records.map((r) => [`${r.spec.version}-${r.spec.platform}`, r])) });
    assert.equal(gemSummary(withVersions(record('2.0.0.rc1', 3), record('1.2.0', 2), record('1.10.0', 1)))?.version, '1.10.0');
    assert.equal(gemSummary(withVersions(record('2.0.0.rc1', 1), record('2.0.0.rc2', 2), record('1.0.0.beta', 3)))?.version, '2.0.0.rc2');
    const tie = gemSummary(withVersions(record('1.0.0', 2, 'java'), record('1.0', 1), record('0.9', 3)));
    assert.deepEqual([tie?.version, tie?.platform], ['1.0', 'ruby']);
  });

  it('names lists gems with a served version, sorted', () => {
    const index: TServedIndex = {
      zeta: [{ version: '1', platform: 'ruby' }],
      alpha: [{ version: '1', platform: 'ruby' }],
      gone: [],
    };
    assert.equal(compactNamesFile(index), '---\nalpha\nzeta\n');
  });

  it('file names split into name, version and platform; names may hold dashes', () => {
    assert.deepEqual(parseGemFileBase('sr-app-1.0.0'), [{ name: 'sr-app', version: '1.0.0', platform: 'ruby' }]);
    assert.deepEqual(parseGemFileBase('sr-native-2.0.0-x86_64-linux'), [{ name: 'sr-native', version: '2.0.0', platform: 'x86_64-linux' }]);
    assert.deepEqual(parseGemFileBase('nope'), []);
  });

  it('versions compare as Gem::Version does', () => {
    assert.equal(compareGemVersions('1.10', '1.9'), 1);
    assert.equal(compareGemVersions('1.0', '1'), 0);
    assert.equal(compareGemVersions('1.01', '1.1'), 0, 'segments compare as numbers, as Gem::Version does');
    assert.equal(compareGemVersions('1.0.a', '1.0'), -1);
    assert.equal(compareGemVersions('1.0.rc1', '1.0.beta'), 1);
  });
});

describe('rubygems gemspec YAML', () => {
  it('reads name, version, platform, dependencies and requirements', () => {
    const parsed = parseGemspecYaml(GEMSPEC_YAML);
    assert.equal(parsed.name, 'alpha');
    assert.equal(parsed.version, '1.0.0');
    assert.equal(parsed.platform, 'x86_64-linux');
    assert.deepEqual(parsed.dependencies, [
      { name: 'beta', requirements: ['>= 1.0', '< 2'], type: 'runtime' },
      { name: 'rake', requirements: ['>= 0'], type: 'development' },
    ]);
    assert.deepEqual(parsed.requiredRubyVersion, ['>= 2.7']);
    assert.deepEqual(parsed.requiredRubygemsVersion, ['>= 0']);
    assert.deepEqual(parsed.licenses, ['MIT']);
  });

  it('refuses Ruby object tags it does not know', () => {
    assert.match(refusal(GEMSPEC_YAML.replace('metadata: {}', 'metadata: !ruby/object:Kernel::Evil\n  x: 1')), /refused: unknown mapping tag/);
    assert.match(refusal(GEMSPEC_YAML.replace('summary:', 'summary: !ruby/object:Kernel::Evil')), /refused: unknown scalar tag/);
    assert.match(refusal(GEMSPEC_YAML.replace('--- !ruby/object:Gem::Specification', '--- !ruby/hash:Gem::Specification')), /refused|not a Gem::Specification/);
    assert.match(refusal(GEMSPEC_YAML.replace('--- !ruby/object:Gem::Specification', '---')), /not a Gem::Specification/);
  });

  it('reads a requirement written as an alias of another, as old RubyGems wrote `version_requirements`', () => {
    const aliased = GEMSPEC_YAML.replace('  requirement: !ruby/object:Gem::Requirement', '  requirement: &id001 !ruby/object:Gem::Requirement').replace(
      /  version_requirements: !ruby\/object:Gem::Requirement\n(    .*\n)+/,
      '  version_requirements: *id001\n',
    );
    assert.match(aliased, /version_requirements: \*id001\n- !ruby/);
    assert.deepEqual(parseGemspecYaml(aliased).dependencies[0], { name: 'beta', requirements: ['>= 1.0', '< 2'], type: 'runtime' });
  });

  it('refuses a key given twice', () => {
    assert.match(refusal(GEMSPEC_YAML.replace('licenses:', 'name: other\nlicenses:')), /refused: duplicated mapping key/);
  });

  it('refuses alias bombs (more aliases than a gemspec has)', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const bomb = `--- !ruby/object:Gem::Specification\nname: bomb\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\nmetadata:\n${levels.map((line) => `  ${line}`).join('\n')}\n`;
    assert.match(refusal(bomb), /alias/i);
  });

  it('refuses a missing or malformed name or version', () => {
    assert.match(refusal(GEMSPEC_YAML.replace('name: alpha', 'name: "../x"')), /invalid gem name/);
    assert.match(refusal(GEMSPEC_YAML.replace('  version: 1.0.0', '  version: "1.0; rm"')), /not a valid version/);
    assert.match(refusal('--- just a string\n'), /not a Gem::Specification/);
    assert.match(refusal('name: [unclosed'), /refused|not a Gem::Specification/);
  });
});
