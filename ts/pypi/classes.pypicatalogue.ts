import type { ICataloguePackage, ICatalogueUrls, IPackageCatalogue } from '../core/interfaces.catalogue.js';
import type { PypiProjectStore } from './classes.pypiprojectstore.js';
import type { PypiSearchIndex } from './classes.pypisearchindex.js';
import { compareVersionsDescending, isValidProjectName, normalizeProjectName } from './helpers.pypi.js';

/** `requests[socks] (>=2.0) ; extra == "x"` → name and the rest. */
function parseRequirement(line: string): { name: string; requirement: string; kind?: string } {
  const name = /^[A-Za-z0-9._-]+/.exec(line.trim())?.[0] ?? line.trim();
  const requirement = line.trim().slice(name.length).trim();
  return { name, requirement, ...(/extra\s*==/.test(requirement) ? { kind: 'extra' } : {}) };
}

/** The web page's view of PyPI projects: search from the PyPI index, pages from the project document. */
export class PypiCatalogue implements IPackageCatalogue {
  constructor(
    private readonly projects: PypiProjectStore,
    private readonly index: PypiSearchIndex,
  ) {}

  resourceOf(name: string): string {
    return `pypi:package:${normalizeProjectName(name)}`;
  }

  async search(query: string, size: number, from: number) {
    const result = await this.index.search(query, size, from);
    return { total: result.total, entries: result.entries.map((entry) => ({ name: entry.name, version: entry.version, description: entry.summary })) };
  }

  async describe(name: string, version: string | undefined, urls: ICatalogueUrls): Promise<ICataloguePackage | null> {
    if (!isValidProjectName(name)) return null;
    const stored = await this.projects.get(normalizeProjectName(name));
    if (!stored) return null;
    const project = stored.value;
    const keys = Object.keys(project.releases).sort(compareVersionsDescending);
    const latest = keys.find((key) => !project.releases[key].yanked) ?? keys[0];
    const shown = version ?? latest;
    const release = shown === undefined ? undefined : project.releases[shown];
    if (!release) return null;
    const info = release.info;
    const markdown = (info.description_content_type ?? '').toLowerCase().startsWith('text/markdown');
    return {
      name: project.name,
      version: shown,
      latest,
      description: info.summary,
      ...(info.description ? { readme: { format: markdown ? ('markdown' as const) : ('text' as const), text: info.description } } : {}),
      license: info.license,
      versions: keys.map((key) => ({
        version: project.releases[key].info.version,
        published: project.releases[key].created,
        ...(project.releases[key].yanked ? { yanked: project.releases[key].yanked!.reason } : {}),
      })),
      dependencies: (info.requires_dist ?? []).map(parseRequirement),
      files: Object.values(project.files)
        .filter((file) => file.release === shown)
        .sort((a, b) => a.filename.localeCompare(b.filename))
        .map((file) => ({ name: file.filename, size: file.size, digests: { sha256: file.digests.sha256, blake2b_256: file.digests.blake2b_256 } })),
      install: [{ label: 'pip', text: `pip install --index-url ${urls.baseUrl}/simple/ ${project.name}==${info.version}` }],
    };
  }
}
