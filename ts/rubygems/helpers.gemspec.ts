import { CORE_SCHEMA, defineMappingTag, load, mapTag } from 'js-yaml';
import { RegistryError } from '../core/classes.registryerror.js';
import type { IGemDependency, IGemSpec } from './interfaces.rubygems.js';

/**
 * Reading a gem's `metadata.gz` (the gemspec as YAML) without trusting it. js-yaml resolves only the tags we
 * declare: the five RubyGems classes a gemspec is made of, each read as a plain map. Any other Ruby object tag
 * (`!ruby/object:...`, `!ruby/hash-with-ivars`, which on a Ruby server would instantiate arbitrary classes) is an
 * unknown tag and refused. RubyGems' own `Gem::SafeYAML` allows the same classes.
 */
const GEMSPEC_CLASSES = ['Specification', 'Version', 'Requirement', 'Dependency', 'Platform'];
/** The document's root, told apart from the maps inside it: it must be a `Gem::Specification`. */
class GemSpecificationMap {}
const RUBY_TAGS = GEMSPEC_CLASSES.map((name) =>
  defineMappingTag<Record<string, unknown>>(`!ruby/object:Gem::${name}`, {
    create: name === 'Specification' ? () => new GemSpecificationMap() as Record<string, unknown> : mapTag.create,
    addPair: mapTag.addPair,
    has: mapTag.has,
    keys: mapTag.keys,
    get: mapTag.get,
    identify: () => false,
  }),
);
const GEMSPEC_SCHEMA = CORE_SCHEMA.withTags(...RUBY_TAGS);
/**
 * An alias is never expanded (each use is the one object it names), so an alias bomb ("billion laughs") costs
 * nothing to load; it is refused all the same. RubyGems writes no alias, or one per dependency where an old one
 * wrote `version_requirements` as an alias of `requirement`.
 */
const MAX_ALIASES = 64;

export const GEM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
/** A `Gem::Version` as RubyGems stores it (a `-` became `.pre.`). */
export const GEM_VERSION = /^[0-9]+(\.[0-9A-Za-z]+){0,20}$/;
export const GEM_PLATFORM = /^[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+){0,3}$/;
const REQUIREMENT_OPERATORS = new Set(['=', '!=', '>', '<', '>=', '<=', '~>']);

const ONLY_DOTS = /^\.+$/;
export const isValidGemName = (name: string) => GEM_NAME.test(name) && !ONLY_DOTS.test(name);

/** The gemspec from `metadata.gz`'s YAML; a clear 400 for anything that is not a safe, whole gemspec. */
export function parseGemspecYaml(text: string): IGemSpec {
  let raw: unknown;
  try {
    raw = load(text, { schema: GEMSPEC_SCHEMA, maxAliases: MAX_ALIASES });
  } catch (error) {
    throw RegistryError.invalid(`gemspec YAML refused: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!(raw instanceof GemSpecificationMap)) throw RegistryError.invalid('gemspec YAML is not a Gem::Specification');
  return specFromYaml(raw as Record<string, unknown>);
}

function specFromYaml(raw: Record<string, unknown>): IGemSpec {
  const name = requiredString(raw.name, 'name');
  if (!isValidGemName(name)) throw RegistryError.invalid(`invalid gem name ${JSON.stringify(name)}`);
  const version = versionOf(raw.version, 'version');
  const platform = raw.platform === undefined || raw.platform === null ? 'ruby' : requiredString(raw.platform, 'platform');
  if (platform !== 'ruby' && !GEM_PLATFORM.test(platform)) throw RegistryError.invalid(`invalid platform ${JSON.stringify(platform)}`);
  const dependencies = listOf(raw.dependencies, 'dependencies').map(dependencyOf);
  return {
    name,
    version,
    platform,
    dependencies,
    requiredRubyVersion: requirementOf(raw.required_ruby_version, 'required_ruby_version'),
    requiredRubygemsVersion: requirementOf(raw.required_rubygems_version, 'required_rubygems_version'),
    summary: optionalString(raw.summary, 'summary') ?? '',
    description: optionalString(raw.description, 'description'),
    authors: listOf(raw.authors, 'authors').map((author) => requiredString(author, 'authors')),
    email: Array.isArray(raw.email) ? raw.email.map(String).join(', ') : optionalString(raw.email, 'email'),
    homepage: optionalString(raw.homepage, 'homepage'),
    licenses: listOf(raw.licenses, 'licenses').map((license) => requiredString(license, 'licenses')),
    metadata: stringRecord(raw.metadata),
    rubygemsVersion: optionalString(raw.rubygems_version, 'rubygems_version') ?? '0',
    specificationVersion: typeof raw.specification_version === 'number' ? raw.specification_version : 4,
  };
}

function dependencyOf(raw: unknown): IGemDependency {
  if (!isRecord(raw)) throw RegistryError.invalid('gemspec dependency is not a Gem::Dependency');
  const name = requiredString(raw.name, 'dependency name');
  if (!isValidGemName(name)) throw RegistryError.invalid(`invalid dependency name ${JSON.stringify(name)}`);
  const type = raw.type === ':development' ? 'development' : 'runtime';
  return { name, requirements: requirementOf(raw.requirement ?? raw.version_requirements, `requirement of ${name}`), type };
}

/** `Gem::Requirement` → `['>= 1.0', '< 2']`; `>= 0` (anything) stays as RubyGems writes it. */
function requirementOf(raw: unknown, what: string): string[] {
  if (raw === undefined || raw === null) return ['>= 0'];
  if (!isRecord(raw)) throw RegistryError.invalid(`gemspec ${what} is not a Gem::Requirement`);
  const requirements = listOf(raw.requirements, what).map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw RegistryError.invalid(`gemspec ${what} has a malformed requirement`);
    const operator = requiredString(pair[0], what);
    if (!REQUIREMENT_OPERATORS.has(operator)) throw RegistryError.invalid(`gemspec ${what} has an unknown operator ${JSON.stringify(operator)}`);
    return `${operator} ${versionOf(pair[1], what)}`;
  });
  return requirements.length ? requirements : ['>= 0'];
}

function versionOf(raw: unknown, what: string): string {
  const text = isRecord(raw) ? raw.version : raw;
  const version = typeof text === 'number' ? String(text) : requiredString(text, what);
  if (!GEM_VERSION.test(version)) throw RegistryError.invalid(`gemspec ${what} ${JSON.stringify(version)} is not a valid version`);
  return version;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function requiredString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw RegistryError.invalid(`gemspec ${what} is missing or not a string`);
  return value;
}

function optionalString(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw RegistryError.invalid(`gemspec ${what} is not a string`);
  return value;
}

function listOf(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw RegistryError.invalid(`gemspec ${what} is not a list`);
  return value;
}

function stringRecord(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
