/**
 * Catalogue pieces shared by protocols whose manifests list dependencies as `name → requirement`
 * maps, one map per kind (npm's package.json, composer.json).
 */
import type { ICatalogueDependency } from './interfaces.catalogue.js';

/** A manifest field holding such a map, and the kind of dependency it lists (undefined: runtime). */
export type TDependencyField = [field: string, kind: string | undefined];

/** The dependencies of `manifest`'s `fields`, in that order; `keep` leaves out names that have no page. */
export function dependenciesFromMaps(manifest: object, fields: TDependencyField[], keep: (name: string) => boolean = () => true): ICatalogueDependency[] {
  const result: ICatalogueDependency[] = [];
  for (const [field, kind] of fields) {
    const listed = (manifest as Record<string, unknown>)[field];
    if (!listed || typeof listed !== 'object') continue;
    for (const [name, requirement] of Object.entries(listed as Record<string, unknown>)) {
      if (keep(name)) result.push({ name, requirement: String(requirement), ...(kind ? { kind } : {}) });
    }
  }
  return result;
}
