/** The seven ecosystems this registry speaks. */
export type TRegistryProtocol = 'oci' | 'npm' | 'maven' | 'cargo' | 'composer' | 'pypi' | 'rubygems';

export const REGISTRY_PROTOCOLS: readonly TRegistryProtocol[] = [
  'oci',
  'npm',
  'maven',
  'cargo',
  'composer',
  'pypi',
  'rubygems',
];

/** Who is acting, passed through to hooks for audit and quota. */
export interface IRequestActor {
  userId?: string;
  tokenId?: string;
  ip?: string;
  userAgent?: string;
  orgId?: string;
  sessionId?: string;
  [key: string]: unknown;
}
