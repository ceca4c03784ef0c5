import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dependenciesFromMaps } from '../../ts/core/helpers.catalogue.js';

describe('dependenciesFromMaps', () => {
  const fields: [string, string | undefined][] = [
    ['require', undefined],
    ['require-dev', 'dev'],
  ];

  it('lists each field in the given order with its kind, runtime ones without a kind', () => {
    const manifest = { name: 'acme/app', 'require-dev': { 'acme/test': '^2.0' }, require: { 'acme/lib': '^1.0', php: '>=8.1' } };
    assert.deepEqual(dependenciesFromMaps(manifest, fields), [
      { name: 'acme/lib', requirement: '^1.0' },
      { name: 'php', requirement: '>=8.1' },
      { name: 'acme/test', requirement: '^2.0', kind: 'dev' },
    ]);
  });

  it('leaves out what `keep` refuses, fields that are not maps, and fields not asked for', () => {
    const manifest = { require: { 'acme/lib': '^1.0', 'ext-json': '*' }, 'require-dev': 'not a map', suggest: { 'acme/extra': '*' } };
    assert.deepEqual(dependenciesFromMaps(manifest, fields, (name) => name.includes('/')), [{ name: 'acme/lib', requirement: '^1.0' }]);
  });

  it('gives every requirement as text, whatever a stored manifest holds', () => {
    assert.deepEqual(dependenciesFromMaps({ require: { a: 1 } }, fields), [{ name: 'a', requirement: '1' }]);
  });
});
