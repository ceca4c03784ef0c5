import type { TRegistryProtocol } from '../core/interfaces.protocol.js';
import type {
  IProtocolUpstreamConfig,
  IUpstreamProvider,
  IUpstreamResolutionContext,
} from './interfaces.upstream.js';
import { validateUpstreamConfig } from './helpers.upstreamselect.js';

/** Upstreams fixed at construction, one list per protocol. */
export class StaticUpstreamProvider implements IUpstreamProvider {
  constructor(private readonly configs: Partial<Record<TRegistryProtocol, IProtocolUpstreamConfig>>) {
    for (const [protocol, config] of Object.entries(configs)) if (config) validateUpstreamConfig(`upstreams.${protocol}`, config);
  }

  async resolveUpstreamConfig(ctx: IUpstreamResolutionContext): Promise<IProtocolUpstreamConfig | null> {
    const config = this.configs[ctx.protocol];
    return config && config.enabled ? config : null;
  }
}
