/** Fixtures for the RubyGems tests: `.gem` files made on the fly (as `gem build` lays them out) and a test registry. */
import * as zlib from 'node:zlib';
import tar from 'tar-stream';
import { SmartRegistry } from '../../ts/classes.smartregistry.js';
import { RubyGemsRegistry } from '../../ts/rubygems/classes.rubygemsregistry.js';
import type { IProtocolConfig, IRegistryConfig } from '../../ts/core/interfaces.core.js';
import type { IRubyGemsRegistryOptions } from '../../ts/rubygems/interfaces.rubygems.js';
import { sendRequest, type IReadResponse } from '../helpers/requests.js';
import { startTestRegistry } from '../helpers/testregistry.js';

/** The gemspec YAML `gem build` writes, for a name, version, platform and runtime dependencies. */
export function gemspecYaml(name: string, version: string, options: { platform?: string; dependencies?: Record<string, string[]> } = {}): string {
  const requirement = (requirements: string[], indent: string) =>
    `!ruby/object:Gem::Requirement\n${indent}requirements:\n` +
    requirements
      .map((text) => {
        const [operator, number] = text.split(' ');
        return `${indent}- - "${operator}"\n${indent}  - !ruby/object:Gem::Version\n${indent}    version: '${number}'\n`;
      })
      .join('');
  const dependencies = Object.entries(options.dependencies ?? {})
    .map(([dependency, requirements]) => `- !ruby/object:Gem::Dependency\n  name: ${dependency}\n  requirement: ${requirement(requirements, '    ')}  type: :runtime\n  prerelease: false\n`)
    .join('');
  return (
    `--- !ruby/object:Gem::Specification\nname: ${name}\nversion: !ruby/object:Gem::Version\n  version: ${version}\n` +
    `platform: ${options.platform ?? 'ruby'}\nauthors:\n- tester\n` +
    `dependencies:${dependencies ? `\n${dependencies}` : ' []\n'}` +
    `licenses:\n- MIT\nmetadata: {}\nrequired_ruby_version: ${requirement(['>= 0'], '  ')}` +
    `required_rubygems_version: ${requirement(['>= 0'], '  ')}rubygems_version: 3.3.15\nspecification_version: 4\nsummary: ${name} for tests\n`
  );
}

/** A `.gem`: a plain tar of metadata.gz, data.tar.gz and checksums.yaml.gz (members given replace them). */
export async function makeGem(yaml: string | null, members: Record<string, Buffer> = {}): Promise<Buffer> {
  const pack = tar.pack();
  const entries: Record<string, Buffer> = {
    ...(yaml === null ? {} : { 'metadata.gz': zlib.gzipSync(yaml) }),
    'data.tar.gz': zlib.gzipSync(Buffer.alloc(1024)),
    'checksums.yaml.gz': zlib.gzipSync('--- {}\n'),
    ...members,
  };
  for (const [name, bytes] of Object.entries(entries)) pack.entry({ name }, bytes);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export interface IGemTestRegistry {
  registry: SmartRegistry;
  dir: string;
  /** alice: everything; bob: read, and write on bob-* gems; reader: read; dave: every rubygems scope; carol: read alpha only. */
  tokens: Record<'alice' | 'bob' | 'reader' | 'dave' | 'carol', string>;
  /** As alice unless `token` says otherwise (null: none); the raw key in `Authorization`, as `gem push` sends it. */
  request(method: string, requestPath: string, extra?: { token?: string | null; headers?: Record<string, string>; body?: Buffer | string }): Promise<IReadResponse>;
  push(gem: Buffer, token?: string): Promise<IReadResponse>;
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

export interface IGemTestOptions {
  storage?: IRegistryConfig['storage'];
  rubygems?: Partial<IProtocolConfig>;
  rubygemsOptions?: IRubyGemsRegistryOptions;
  storageHooks?: IRegistryConfig['storageHooks'];
}

/** A SmartRegistry with RubyGems at /rubygems on a temp directory (or the given storage), and tokens for five users. */
export async function createGemRegistry(options: IGemTestOptions = {}): Promise<IGemTestRegistry> {
  const base = await startTestRegistry({
    label: 'rubygems',
    users: {
      alice: { password: 'alice-password', scopes: ['*'] },
      bob: { password: 'bob-password', scopes: ['rubygems:gem:bob-*:write', 'rubygems:gem:*:read'] },
      reader: { password: 'reader-password', scopes: ['rubygems:gem:*:read'] },
      dave: { password: 'dave-password', scopes: ['rubygems:*:*:*'] },
      carol: { password: 'carol-password', scopes: ['rubygems:gem:alpha:read'] },
    },
    config: {
      ...(options.storage ? { storage: options.storage } : {}),
      rubygems: { enabled: true, basePath: '/rubygems', ...options.rubygems },
      ...(options.storageHooks ? { storageHooks: options.storageHooks } : {}),
    },
    registryOptions: { protocolFactories: { rubygems: (deps) => new RubyGemsRegistry(deps, options.rubygemsOptions) } },
  });
  const auth = base.registry.getAuthManager();
  const tokens = {
    alice: await auth.createRubyGemsToken('alice'),
    bob: await auth.createRubyGemsToken('bob'),
    reader: await auth.createRubyGemsToken('reader'),
    dave: await auth.createRubyGemsToken('dave'),
    carol: await auth.createRubyGemsToken('carol'),
  };
  const request: IGemTestRegistry['request'] = (method, requestPath, extra = {}) => {
    const token = extra.token === undefined ? tokens.alice : extra.token;
    const headers = { ...(token ? { authorization: token } : {}), ...extra.headers };
    return sendRequest(base.registry, method, requestPath, { headers, body: extra.body });
  };
  return {
    ...base,
    tokens,
    request,
    push: (gem, token = tokens.alice) => request('POST', '/rubygems/api/v1/gems', { token, body: gem, headers: { 'content-type': 'application/octet-stream' } }),
  };
}

/** Keys under rubygems/ (auth records aside). */
export const gemKeys = async (r: IGemTestRegistry) => (await r.keys()).filter((key) => key.startsWith('rubygems/'));

/** A `/versions` file read as bundler reads it: each gem's versions (a `-v` takes one away) and its last info MD5. */
export function readVersionsFile(text: string): Map<string, { versions: Set<string>; infoMd5: string }> {
  const gems = new Map<string, { versions: Set<string>; infoMd5: string }>();
  for (const line of text.split('\n---\n')[1].split('\n').filter(Boolean)) {
    const [name, versions, infoMd5] = line.split(' ');
    const gem = gems.get(name) ?? { versions: new Set<string>(), infoMd5 };
    for (const version of versions.split(',')) {
      if (version.startsWith('-')) gem.versions.delete(version.slice(1));
      else gem.versions.add(version);
    }
    gem.infoMd5 = infoMd5;
    gems.set(name, gem);
  }
  return gems;
}
