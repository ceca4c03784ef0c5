import type { TRegistryProtocol } from '../core/interfaces.core.js';
import type {
  IProtocolUpstreamConfig,
  IUpstreamProvider,
  IUpstreamResolutionContext,
} from './interfaces.upstream.js';

/** Upstreams fixed at construction, one list per protocol. */
export class StaticUpstreamProvider implements IUpstreamProvider {
  constructor(private readonly configs: Partial<Record<TRegistryProtocol, IProtocolUpstreamConfig>>) {}

  async resolveUpstreamConfig(ctx: IUpstreamResolutionContext): Promise<IProtocolUpstreamConfig | null> {
    const config = this.configs[ctx.protocol];
    return config && config.enabled ? config : null;
  }
}
