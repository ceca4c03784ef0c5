import type { BaseRegistry, IProtocolDependencies } from './core/classes.baseregistry.js';
import type { TRegistryProtocol } from './core/interfaces.core.js';

export type TProtocolFactory = (deps: IProtocolDependencies) => BaseRegistry;

/**
 * The protocol implementations SmartRegistry mounts. A protocol enabled in the configuration but
 * missing here answers 404 until it is implemented.
 */
export const DEFAULT_PROTOCOL_FACTORIES: Partial<Record<TRegistryProtocol, TProtocolFactory>> = {};
