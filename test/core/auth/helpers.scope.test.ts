import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionGrants,
  isReadAction,
  parseResource,
  parseScope,
  scopeGrants,
  scopesCoverProtocol,
} from '../../../ts/core/helpers.scope.js';

test('scope: parse splits protocol and type from the front, action from the back', () => {
  assert.deepEqual(parseScope('npm:package:@scope/name:write'), {
    protocol: 'npm',
    type: 'package',
    name: '@scope/name',
    action: 'write',
  });
  assert.deepEqual(parseScope('oci:repository:a/b/c:pull'), { protocol: 'oci', type: 'repository', name: 'a/b/c', action: 'pull' });
  assert.deepEqual(parseScope('composer:package:vendor/pkg:read')?.name, 'vendor/pkg');
  assert.deepEqual(parseScope('*'), { protocol: '*', type: '*', name: '*', action: '*' });
  assert.deepEqual(parseResource('oci:repository:library/nginx'), { protocol: 'oci', type: 'repository', name: 'library/nginx' });
});

test('scope: malformed scopes and resources parse to null', () => {
  for (const bad of ['', 'npm', 'npm:package', 'npm:package:x', 'npm::x:read', 'npm:package:x:', ':package:x:read']) {
    assert.equal(parseScope(bad), null, bad);
  }
  for (const bad of ['', 'npm', 'npm:package', 'npm::x', 'npm:package:']) assert.equal(parseResource(bad), null, bad);
});

test('scope: actions', () => {
  const table: [granted: string, requested: string, expected: boolean][] = [
    ['*', 'read', true],
    ['*', 'delete', true],
    ['*', 'yank', true],
    ['write', 'write', true],
    ['write', 'push', true],
    ['write', 'read', true],
    ['write', 'pull', true],
    ['write', 'delete', false],
    ['push', 'write', true],
    ['push', 'pull', true],
    ['read', 'read', true],
    ['read', 'pull', true],
    ['pull', 'read', true],
    ['read', 'write', false],
    ['pull', 'push', false],
    ['read', 'delete', false],
    ['delete', 'delete', true],
    ['delete', 'read', false],
    ['delete', 'write', false],
    ['yank', 'yank', true],
    ['yank', 'delete', false],
    ['read', '*', false],
  ];
  for (const [granted, requested, expected] of table) {
    assert.equal(actionGrants(granted, requested), expected, `${granted} → ${requested}`);
  }
  assert.equal(isReadAction('read'), true);
  assert.equal(isReadAction('pull'), true);
  assert.equal(isReadAction('write'), false);
  assert.equal(isReadAction('delete'), false);
});

test('scope: grants (table)', () => {
  const table: [scope: string, resource: string, action: string, expected: boolean][] = [
    ['*:*:*:*', 'npm:package:lodash', 'write', true],
    ['*', 'oci:repository:a/b', 'delete', true],
    ['npm:*:*:*', 'npm:package:@scope/name', 'delete', true],
    ['npm:*:*:*', 'oci:repository:nginx', 'pull', false],
    ['npm:package:*:write', 'npm:package:lodash', 'write', true],
    ['npm:package:*:write', 'npm:package:lodash', 'read', true],
    ['npm:package:*:write', 'npm:package:lodash', 'delete', false],
    ['npm:package:*:read', 'npm:package:lodash', 'write', false],
    ['npm:package:lodash:write', 'npm:package:lodash', 'write', true],
    ['npm:package:lodash:write', 'npm:package:lodash-es', 'write', false],
    ['npm:package:@company/*:write', 'npm:package:@company/tool', 'write', true],
    ['npm:package:@company/*:write', 'npm:package:@other/tool', 'write', false],
    ['npm:package:@company/*:write', 'npm:package:@company', 'write', false],
    ['oci:repository:library/*:pull', 'oci:repository:library/a/b', 'pull', true],
    ['oci:repository:nginx:pull', 'oci:repository:nginx', 'pull', true],
    ['oci:repository:nginx:pull', 'oci:repository:nginx', 'push', false],
    ['oci:repository:nginx:push', 'oci:repository:nginx', 'pull', true],
    ['oci:repository:a/b/c:pull', 'oci:repository:a/b/c', 'pull', true],
    ['oci:repository:a/b/c:pull', 'oci:repository:a/b', 'pull', false],
    ['oci:*:nginx:pull', 'oci:repository:nginx', 'pull', true],
    ['*:repository:nginx:pull', 'oci:repository:nginx', 'read', true],
    ['cargo:*:*:*', 'cargo:crate:serde', 'yank', true],
    ['cargo:crate:serde:yank', 'cargo:crate:serde', 'yank', true],
    ['cargo:crate:serde:yank', 'cargo:crate:serde', 'write', false],
    ['composer:package:vendor/pkg:read', 'composer:package:vendor/pkg', 'read', true],
    ['pypi:package:*:delete', 'pypi:package:requests', 'delete', true],
    ['pypi:package:*:delete', 'pypi:package:requests', 'read', false],
    ['npm:package:a.b:read', 'npm:package:aXb', 'read', false],
    ['npm:package:*:read', 'npm:package', 'read', false],
    ['not a scope', 'npm:package:x', 'read', false],
    ['npm:package:x:read', 'npm:package:x', '', false],
  ];
  for (const [scope, resource, action, expected] of table) {
    assert.equal(scopeGrants(scope, resource, action), expected, `${scope} on ${resource} ${action}`);
  }
});

test('scope: which protocols a token reaches', () => {
  assert.equal(scopesCoverProtocol(['*:*:*:*'], 'oci'), true);
  assert.equal(scopesCoverProtocol(['npm:*:*:*'], 'oci'), false);
  assert.equal(scopesCoverProtocol(['npm:*:*:*', 'oci:repository:x:pull'], 'oci'), true);
  assert.equal(scopesCoverProtocol([], 'npm'), false);
});
