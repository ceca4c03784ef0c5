import type { BaseRegistry, IProtocolDependencies } from './core/classes.baseregistry.js';
import type { TRegistryProtocol } from './core/interfaces.core.js';
import { OciRegistry } from './oci/classes.ociregistry.js';
import { NpmRegistry } from './npm/classes.npmregistry.js';
import { MavenRegistry } from './maven/classes.mavenregistry.js';
import { CargoRegistry } from './cargo/classes.cargoregistry.js';
import { PypiRegistry } from './pypi/classes.pypiregistry.js';
import { ComposerRegistry } from './composer/classes.composerregistry.js';
import { RubyGemsRegistry } from './rubygems/classes.rubygemsregistry.js';

export type TProtocolFactory = (deps: IProtocolDependencies) => BaseRegistry;

/**
 * The protocol implementations SmartRegistry mounts. A protocol enabled in the configuration but
 * missing here answers 404 until it is implemented.
 */
export const DEFAULT_PROTOCOL_FACTORIES: Partial<Record<TRegistryProtocol, TProtocolFactory>> = {
  oci: (deps) => new OciRegistry(deps),
  npm: (deps) => new NpmRegistry(deps),
  maven: (deps) => new MavenRegistry(deps),
  cargo: (deps) => new CargoRegistry(deps),
  pypi: (deps) => new PypiRegistry(deps),
  composer: (deps) => new ComposerRegistry(deps),
  rubygems: (deps) => new RubyGemsRegistry(deps),
};
