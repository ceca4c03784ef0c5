/**
 * The principals of the access matrix (issue 16), the tokens that make them for one protocol, and what
 * each may do: shared by the handleRequest matrix and the real-client write column.
 */
import { signJwt } from '../../ts/core/helpers.jwt.js';
import type { TRegistryProtocol } from '../../ts/core/interfaces.core.js';
import { JWT_SECRET, type IAllProtocolsRegistry, type TAction } from './protocolactions.js';

export const PRINCIPALS = ['anonymous', 'readOnly', 'writeOtherPackage', 'write', 'delete', 'revoked', 'expiredOciJwt', 'otherProtocol'] as const;
export type TPrincipal = (typeof PRINCIPALS)[number];
/** ok: 2xx; unauthenticated: 401; forbidden: 403 (OCI: 401 with an insufficient_scope challenge, so docker asks for a wider token). */
export type TCell = 'ok' | 'unauthenticated' | 'forbidden';
export type TTable = Record<TPrincipal, Record<TAction, TCell>>;

const none = { read: 'unauthenticated', write: 'unauthenticated', delete: 'unauthenticated' } as const;

/** anonymousRead off (the default). */
export const EXPECTED_PRIVATE: TTable = {
  anonymous: none,
  readOnly: { read: 'ok', write: 'forbidden', delete: 'forbidden' },
  writeOtherPackage: { read: 'forbidden', write: 'forbidden', delete: 'forbidden' },
  // write implies read, never delete
  write: { read: 'ok', write: 'ok', delete: 'forbidden' },
  // delete grants only itself
  delete: { read: 'forbidden', write: 'forbidden', delete: 'ok' },
  revoked: none,
  expiredOciJwt: none,
  otherProtocol: none,
};

/** anonymousRead on: anyone reads, a token that does not authenticate still answers 401, nothing else changes. */
export const EXPECTED_PUBLIC: TTable = {
  anonymous: { read: 'ok', write: 'unauthenticated', delete: 'unauthenticated' },
  readOnly: { read: 'ok', write: 'forbidden', delete: 'forbidden' },
  writeOtherPackage: { read: 'ok', write: 'forbidden', delete: 'forbidden' },
  write: { read: 'ok', write: 'ok', delete: 'forbidden' },
  delete: { read: 'ok', write: 'forbidden', delete: 'ok' },
  revoked: none,
  expiredOciJwt: none,
  otherProtocol: none,
};

/** An OCI JWT that is right in every way except that it expired an hour ago. */
function expiredOciJwt(valid: string): string {
  const payload = JSON.parse(Buffer.from(valid.split('.')[1], 'base64url').toString('utf8'));
  const past = Math.floor(Date.now() / 1000) - 3600;
  return signJwt({ ...payload, iat: past - 60, nbf: past - 60, exp: past }, JWT_SECRET);
}

export async function principalTokens(r: IAllProtocolsRegistry, protocol: TRegistryProtocol): Promise<Record<TPrincipal, string | null>> {
  const manager = r.registry.getAuthManager();
  const { resource, actionNames } = r.actions[protocol];
  const scoped = (name: 'target' | 'other', action: TAction) => manager.createToken('admin', protocol, { scopes: [`${resource(name)}:${actionNames[action]}`] });
  const revoked = await manager.createToken('admin', protocol);
  await manager.revokeToken(revoked);
  return {
    anonymous: null,
    // OCI tokens carry scopes, not a read-only flag.
    readOnly: protocol === 'oci' ? await scoped('target', 'read') : await manager.createToken('admin', protocol, { readonly: true }),
    writeOtherPackage: await scoped('other', 'write'),
    write: await scoped('target', 'write'),
    delete: await scoped('target', 'delete'),
    revoked,
    expiredOciJwt: expiredOciJwt(await manager.createOciToken('admin', ['*'])),
    otherProtocol: r.adminTokens[protocol === 'npm' ? 'cargo' : 'npm'],
  };
}

