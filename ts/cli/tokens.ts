import type { AuthManager } from '../core/classes.authmanager.js';
import type { TRegistryProtocol } from '../core/interfaces.core.js';

/** OCI tokens are JWTs that expire; the admin's printed one should outlive a typical setup. */
export const OCI_ADMIN_TOKEN_SECONDS = 10 * 365 * 24 * 3600;

/** A full-access token of one protocol for `userId`. */
export function createProtocolToken(auth: AuthManager, protocol: TRegistryProtocol, userId: string): Promise<string> {
  switch (protocol) {
    case 'npm':
      return auth.createNpmToken(userId, false);
    case 'oci':
      return auth.createOciToken(userId, ['oci:*:*:*'], OCI_ADMIN_TOKEN_SECONDS);
    case 'maven':
      return auth.createMavenToken(userId);
    case 'cargo':
      return auth.createCargoToken(userId);
    case 'composer':
      return auth.createComposerToken(userId);
    case 'pypi':
      return auth.createPypiToken(userId);
    case 'rubygems':
      return auth.createRubyGemsToken(userId);
  }
}
