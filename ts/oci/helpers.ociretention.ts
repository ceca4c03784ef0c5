import { partMatches } from '../core/helpers.scope.js';
import { parseDuration } from '../core/helpers.duration.js';
import { RegistryError } from '../core/classes.registryerror.js';
import { compareAscii } from './helpers.oci.js';
import type { IOciRetentionRule } from './interfaces.oci.js';

/** A retention rule checked and with its durations in milliseconds. */
export interface IRetentionPolicy {
  repositories: string;
  keepNewest?: number;
  keepTags: string[];
  deleteUntaggedAfterMs?: number;
}

export interface ITagAge {
  tag: string;
  /** When the tag was last pushed (ISO time). */
  updatedAt: string;
}

/** Configured rules, checked; a bad rule is a configuration error naming it. */
export function resolveRetentionRules(rules: readonly IOciRetentionRule[] | undefined): IRetentionPolicy[] {
  return (rules ?? []).map((rule, index) => {
    const where = `oci.retention[${index}]`;
    if (typeof rule?.repositories !== 'string' || rule.repositories === '') throw RegistryError.invalid(`${where}.repositories must be a repository name glob such as team/*`);
    if (rule.keepNewest !== undefined && !(Number.isSafeInteger(rule.keepNewest) && rule.keepNewest >= 0)) {
      throw RegistryError.invalid(`${where}.keepNewest must be a whole number of tags, not ${JSON.stringify(rule.keepNewest)}`);
    }
    const keepTags = rule.keepTags === undefined ? [] : Array.isArray(rule.keepTags) ? rule.keepTags : [rule.keepTags];
    if (keepTags.some((pattern) => typeof pattern !== 'string' || pattern === '')) throw RegistryError.invalid(`${where}.keepTags must be tag globs such as v*`);
    return {
      repositories: rule.repositories,
      ...(rule.keepNewest !== undefined ? { keepNewest: rule.keepNewest } : {}),
      keepTags,
      ...(rule.deleteUntaggedAfter !== undefined ? { deleteUntaggedAfterMs: parseDuration(rule.deleteUntaggedAfter, `${where}.deleteUntaggedAfter`) } : {}),
    };
  });
}

/** The first rule whose pattern matches the repository. */
export function retentionPolicyFor(policies: readonly IRetentionPolicy[], repository: string): IRetentionPolicy | undefined {
  return policies.find((policy) => partMatches(policy.repositories, repository));
}

/**
 * Tags the policy lets go: not matching `keepTags` and not among the `keepNewest` newest of the others
 * (newest by `updatedAt`; equal times by name, later names first so the order is the same everywhere).
 */
export function tagsBeyondRetention(policy: IRetentionPolicy, tags: readonly ITagAge[]): string[] {
  if (policy.keepNewest === undefined) return [];
  const counted = tags
    .filter(({ tag }) => !policy.keepTags.some((pattern) => partMatches(pattern, tag)))
    .sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt) || compareAscii(b.tag, a.tag));
  return counted.slice(policy.keepNewest).map(({ tag }) => tag);
}
