import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as pep440 from '@renovatebot/pep440';
import {
  canonicalVersion,
  compareVersionsDescending,
  distributionIdentity,
  escapeHtml,
  filenameMismatch,
  isPrerelease,
  isValidProjectName,
  isWheelMetadataMember,
  latestRelease,
  negotiateSimpleFormat,
  normalizeProjectName,
  parseCoreMetadata,
  parseDistributionFilename,
  reasonPhrase,
  sameVersion,
  renderSimpleProjectHtml,
  renderSimpleProjectJson,
  simpleFileLinks,
} from '../../ts/pypi/helpers.pypi.js';
import type { IPypiProject } from '../../ts/pypi/interfaces.pypi.js';

const PROJECT: IPypiProject = {
  name: 'My.Project',
  serial: 3,
  releases: {
    '1.0': { info: { name: 'My.Project', version: '1.0', classifiers: [], requires_dist: [], provides_extra: [], project_urls: [] }, created: '2026-01-01T00:00:00.000Z' },
    '2.0rc1': {
      info: { name: 'My.Project', version: '2.0rc1', classifiers: [], requires_dist: [], provides_extra: [], project_urls: [] },
      created: '2026-01-02T00:00:00.000Z',
      yanked: { reason: 'use <1.0> & "x"' },
    },
  },
  files: {
    'my_project-1.0-py3-none-any.whl': {
      filename: 'my_project-1.0-py3-none-any.whl',
      release: '1.0',
      packagetype: 'bdist_wheel',
      python_version: 'py3',
      requires_python: '>=3.8',
      size: 10,
      digests: { sha256: 'a'.repeat(64), md5: 'b'.repeat(32), blake2b_256: 'c'.repeat(64) },
      upload_time: '2026-01-01T00:00:00.000Z',
      storage_id: 'u1',
      metadata_sha256: 'd'.repeat(64),
    },
    'my_project-2.0rc1.tar.gz': {
      filename: 'my_project-2.0rc1.tar.gz',
      release: '2.0rc1',
      packagetype: 'sdist',
      python_version: 'source',
      size: 20,
      digests: { sha256: 'e'.repeat(64), md5: 'f'.repeat(32), blake2b_256: '0'.repeat(64) },
      upload_time: '2026-01-02T00:00:00.000Z',
      storage_id: 'u2',
    },
  },
};

describe('pypi helpers', () => {
  it('normalises names (PEP 503) and checks them (PEP 508)', () => {
    assert.equal(normalizeProjectName('Friendly-Bard'), 'friendly-bard');
    assert.equal(normalizeProjectName('FRIENDLY._-BARD'), 'friendly-bard');
    assert.equal(normalizeProjectName('friendly__bard'), 'friendly-bard');
    for (const good of ['a', 'A1', 'zope.interface', 'my_pkg-2']) assert.ok(isValidProjectName(good), good);
    for (const bad of ['', '-a', 'a-', 'a b', 'a/b', '..', 'ä', 'x'.repeat(201)]) assert.ok(!isValidProjectName(bad), bad);
  });

  it('canonical versions (PEP 440)', () => {
    assert.equal(canonicalVersion('1.0'), '1.0');
    assert.equal(canonicalVersion('1.0-1'), '1.0.post1');
    assert.equal(canonicalVersion('1.0RC1'), '1.0rc1');
    assert.equal(canonicalVersion('one'), null);
  });

  it('release-only versions, compared without the PEP 440 parser, as the parser compares them', () => {
    const versions = ['0', '00', '1', '1.0', '1.0.0', '01.2', '1.2', '1.2.0', '1.10', '1.9.9', '2', '2.0.0.0.1', '10.0', '123456789012345.1'];
    for (const version of versions) {
      assert.equal(canonicalVersion(version), pep440.clean(version), version);
      assert.equal(isPrerelease(version), false, version);
      for (const other of [...versions, '1.0rc1', '1.0.post1', '1!1.0', '1.0+local']) {
        assert.equal(sameVersion(version, other), pep440.eq(version, other), `${version} = ${other}`);
        assert.equal(Math.sign(compareVersionsDescending(version, other)) || 0, Math.sign(pep440.rcompare(version, other)) || 0, `${version} <=> ${other}`);
      }
    }
    assert.equal(isPrerelease('1.0rc1'), true);
  });

  it('one distribution file, however its name is spelled', () => {
    const wheel = distributionIdentity('my_project-1.0-py3-none-any.whl');
    for (const same of ['My.Project-1.0.0-py3-none-any.whl', 'MY_PROJECT-1.0-PY3-none-any.whl', 'my_project-1.0.0.0-py3-none-any.whl']) assert.equal(distributionIdentity(same), wheel, same);
    for (const other of ['my_project-1.0.1-py3-none-any.whl', 'my_project-1.0-1-py3-none-any.whl', 'my_project-1.0-py2-none-any.whl']) assert.notEqual(distributionIdentity(other), wheel, other);
    assert.equal(distributionIdentity('My-Project-1.0.tar.gz'), distributionIdentity('my-project-1.0.TAR.GZ'));
    assert.notEqual(distributionIdentity('my-project-1.0.tar.gz'), distributionIdentity('my-project-1.0.zip'));
  });

  it('splits distribution file names and checks them against name and version', () => {
    assert.deepEqual(parseDistributionFilename('my_project-1.0-py3-none-any.whl'), { kind: 'wheel', name: 'my_project', version: '1.0' });
    assert.deepEqual(parseDistributionFilename('my_project-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl'), { kind: 'wheel', name: 'my_project', version: '1.0' });
    assert.deepEqual(parseDistributionFilename('My-Project-1.0.tar.gz'), { kind: 'sdist', stem: 'My-Project-1.0' });
    for (const bad of ['../x-1.0.tar.gz', 'x-1.0.exe', '.tar.gz', 'x\u0000-1.0.tar.gz']) assert.equal(parseDistributionFilename(bad), null, bad);
    assert.equal(filenameMismatch('my_project-1.0-py3-none-any.whl', 'bdist_wheel', 'My.Project', '1.0.0'), null);
    assert.equal(filenameMismatch('My-Project-1.0.tar.gz', 'sdist', 'my_project', '1.0'), null);
    assert.equal(filenameMismatch('my_project-1.0.post1.tar.gz', 'sdist', 'my-project', '1.0-1'), null);
    assert.match(filenameMismatch('my_project-1.1-py3-none-any.whl', 'bdist_wheel', 'my-project', '1.0')!, /not of version 1.0/);
    assert.match(filenameMismatch('other-1.0-py3-none-any.whl', 'bdist_wheel', 'my-project', '1.0')!, /not of project/);
    assert.match(filenameMismatch('my_project-1.0.tar.gz', 'bdist_wheel', 'my-project', '1.0')!, /must be a \.whl/);
    assert.match(filenameMismatch('my_project-1.0-py3-none-any.whl', 'sdist', 'my-project', '1.0')!, /must be a \.tar\.gz or \.zip/);
    assert.match(filenameMismatch('my_project-1.0.tar.gz', 'bdist_egg', 'my-project', '1.0')!, /unsupported filetype/);
  });

  it('negotiates the simple-index form by q-value', () => {
    assert.equal(negotiateSimpleFormat(undefined), 'text-html');
    assert.equal(negotiateSimpleFormat('application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01'), 'json');
    assert.equal(negotiateSimpleFormat('text/html, application/vnd.pypi.simple.v1+json;q=0.5'), 'text-html');
    assert.equal(negotiateSimpleFormat('application/vnd.pypi.simple.v1+html'), 'html-v1');
    assert.equal(negotiateSimpleFormat('application/*'), null, 'JSON only when named');
    assert.equal(negotiateSimpleFormat('text/*;q=0.3'), 'text-html');
    assert.equal(negotiateSimpleFormat('*/*;q=0.1, application/vnd.pypi.simple.v1+json;q=0'), 'text-html');
    assert.equal(negotiateSimpleFormat('image/png'), null);
    assert.equal(negotiateSimpleFormat('text/html;q=2'), null, 'a malformed q counts as 0');
  });

  it('renders the project page in HTML byte for byte', () => {
    const links = simpleFileLinks(PROJECT, (file) => `https://registry.example.com/pypi/packages/my-project/${file.filename}`);
    assert.equal(
      renderSimpleProjectHtml(PROJECT, links),
      [
        '<!DOCTYPE html>',
        '<html>',
        '  <head>',
        '    <meta name="pypi:repository-version" content="1.1">',
        '    <title>Links for my-project</title>',
        '  </head>',
        '  <body>',
        '    <h1>Links for my-project</h1>',
        `    <a href="https://registry.example.com/pypi/packages/my-project/my_project-1.0-py3-none-any.whl#sha256=${'a'.repeat(64)}" data-requires-python="&gt;=3.8" data-core-metadata="sha256=${'d'.repeat(64)}" data-dist-info-metadata="sha256=${'d'.repeat(64)}">my_project-1.0-py3-none-any.whl</a><br/>`,
        `    <a href="https://registry.example.com/pypi/packages/my-project/my_project-2.0rc1.tar.gz#sha256=${'e'.repeat(64)}" data-yanked="use &lt;1.0&gt; &amp; &quot;x&quot;">my_project-2.0rc1.tar.gz</a><br/>`,
        '  </body>',
        '</html>',
        '',
      ].join('\n'),
    );
  });

  it('renders the project page in JSON (PEP 691, 700, 714)', () => {
    const links = simpleFileLinks(PROJECT, (file) => `https://registry.example.com/f/${file.filename}`);
    assert.deepEqual(JSON.parse(renderSimpleProjectJson(PROJECT, links)), {
      meta: { 'api-version': '1.1' },
      name: 'my-project',
      versions: ['1.0', '2.0rc1'],
      files: [
        {
          filename: 'my_project-1.0-py3-none-any.whl',
          url: 'https://registry.example.com/f/my_project-1.0-py3-none-any.whl',
          hashes: { sha256: 'a'.repeat(64) },
          'requires-python': '>=3.8',
          size: 10,
          'upload-time': '2026-01-01T00:00:00.000Z',
          yanked: false,
          'core-metadata': { sha256: 'd'.repeat(64) },
        },
        {
          filename: 'my_project-2.0rc1.tar.gz',
          url: 'https://registry.example.com/f/my_project-2.0rc1.tar.gz',
          hashes: { sha256: 'e'.repeat(64) },
          size: 20,
          'upload-time': '2026-01-02T00:00:00.000Z',
          yanked: 'use <1.0> & "x"',
          'core-metadata': false,
        },
      ],
    });
  });

  it('picks the latest release: final and not yanked first', () => {
    assert.equal(latestRelease(PROJECT)?.info.version, '1.0');
  });

  it('parses core metadata headers, folding continuation lines, stopping at the body', () => {
    const fields = parseCoreMetadata('Metadata-Version: 2.1\r\nName: demo\nVersion: 1.0\nClassifier: A\nClassifier: B\nLicense: MIT\n  and more\n\nName: not-a-header\n');
    assert.deepEqual(fields.get('name'), ['demo']);
    assert.deepEqual(fields.get('classifier'), ['A', 'B']);
    assert.deepEqual(fields.get('license'), ['MIT\nand more']);
  });

  it('finds the dist-info METADATA of the project only', () => {
    assert.ok(isWheelMetadataMember('my_project-1.0.dist-info/METADATA', 'My.Project'));
    assert.ok(!isWheelMetadataMember('other-1.0.dist-info/METADATA', 'my-project'));
    assert.ok(!isWheelMetadataMember('sub/my_project-1.0.dist-info/METADATA', 'my-project'));
    assert.ok(!isWheelMetadataMember('my_project-1.0.dist-info/METADATA.bak', 'my-project'));
  });

  it('escapes HTML and makes safe reason phrases', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(reasonPhrase('File already exists\r\nX-Injected: yes'), 'File already exists X-Injected: yes');
    assert.equal(reasonPhrase('ünïcode'), 'n code');
  });
});
