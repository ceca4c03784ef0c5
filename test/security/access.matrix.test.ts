/**
 * The access matrix (issue 16): for every protocol, eight principals × read / write / delete of one
 * package, through handleRequest. Exactly the cells the table allows succeed; every refused cell answers
 * 401 (no usable credentials) or 403 (credentials without the right) and leaves storage as it was.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { PROTOCOLS, startAllProtocols, type IAllProtocolsRegistry, type TAction } from './protocolactions.js';
import { EXPECTED_PRIVATE, EXPECTED_PUBLIC, PRINCIPALS, principalTokens, type TCell, type TPrincipal, type TTable } from './principals.js';

function cellOf(protocol: TRegistryProtocol, status: number, challenge: string | undefined): TCell | `status ${number}` {
  if (status >= 200 && status < 300) return 'ok';
  if (protocol === 'oci' && status === 401 && challenge?.includes('insufficient_scope')) return 'forbidden';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  return `status ${status}`;
}

function runMatrix(label: string, expected: TTable, anonymousRead: boolean | undefined) {
  describe(`access matrix, ${label}`, () => {
    let r: IAllProtocolsRegistry;
    before(async () => {
      r = await startAllProtocols({}, anonymousRead === undefined ? {} : { anonymousRead });
    });
    after(() => r.close());

    for (const protocol of PROTOCOLS) {
      it(`${protocol}: ${PRINCIPALS.length} principals × read, write, delete`, async () => {
        const actions = r.actions[protocol];
        const admin = r.adminTokens[protocol];
        // Version 0 to read; one version per principal to delete (n = 1 + index); writes publish 100 + index.
        for (let n = 0; n <= PRINCIPALS.length; n++) assert.equal(Math.floor((await actions.write(admin, n)).status / 100), 2, `seed ${protocol} ${n}`);
        assert.equal((await actions.read(admin)).status, 200, 'the administrator reads');
        const tokens = await principalTokens(r, protocol);

        const actual = {} as Record<TPrincipal, Record<TAction, string>>;
        for (const [index, principal] of PRINCIPALS.entries()) {
          const token = tokens[principal];
          const row: Record<TAction, string> = { read: '', write: '', delete: '' };
          for (const action of ['read', 'write', 'delete'] as const) {
            const keysBefore = await r.keys();
            const res = action === 'read' ? await actions.read(token) : action === 'write' ? await actions.write(token, 100 + index) : await actions.remove(token, 1 + index);
            const cell = cellOf(protocol, res.status, res.headers['www-authenticate']);
            row[action] = cell;
            if (cell !== 'ok') {
              assert.deepEqual(await r.keys(), keysBefore, `${protocol} ${principal} ${action}: storage unchanged after ${res.status} ${res.text}`);
              assert.ok(res.text.length > 0, `${protocol} ${principal} ${action}: the refusal says why`);
            }
          }
          actual[principal] = row;
        }
        assert.deepEqual(actual, expected);
      });
    }
  });
}

runMatrix('anonymousRead unset (default: private)', EXPECTED_PRIVATE, undefined);
runMatrix('auth.anonymousRead: true', EXPECTED_PUBLIC, true);

describe("access matrix: a protocol's anonymousRead overrides the global one", () => {
  it('global on, protocol off → anonymous reads answer 401; global off, protocol on → 200', async () => {
    for (const [globalSetting, protocolSetting, status] of [
      [true, false, 401],
      [false, true, 200],
    ] as const) {
      const overrides = Object.fromEntries(PROTOCOLS.map((protocol) => [protocol, { enabled: true, basePath: `/${protocol}`, anonymousRead: protocolSetting }]));
      const r = await startAllProtocols(overrides, { anonymousRead: globalSetting });
      try {
        for (const protocol of PROTOCOLS) {
          assert.equal(Math.floor((await r.actions[protocol].write(r.adminTokens[protocol], 0)).status / 100), 2);
          const res = await r.actions[protocol].read(null);
          assert.equal(res.status, status, `${protocol} global ${globalSetting} protocol ${protocolSetting}: ${res.text}`);
        }
      } finally {
        await r.close();
      }
    }
  });
});
