/** The page's HTML, pure: data in, escaped markup out (every value goes through the `html` template). */
import type { ICatalogueEntry, ICataloguePackage } from '../core/interfaces.catalogue.js';
import type { TRegistryProtocol } from '../core/interfaces.core.js';
import type { IRecentPublish } from './classes.recentpublishes.js';
import { formatBytes, formatDate, html, pathOf, type SafeHtml } from './helpers.html.js';
import { renderMarkdown, renderPlainText } from './helpers.markdown.js';

export const PROTOCOL_TITLES: Record<TRegistryProtocol, string> = {
  oci: 'Containers (OCI)',
  npm: 'npm',
  maven: 'Maven',
  cargo: 'Cargo',
  composer: 'Composer',
  pypi: 'PyPI',
  rubygems: 'RubyGems',
};

export interface IPageFrame {
  /** The page's base path ('' at the host root). */
  base: string;
  title: string;
  query?: string;
  userId: string | null;
  /** Signed in by this page's session (not by an Authorization header): offer to sign out. */
  signOut?: boolean;
  /** This page's address: signing in from it comes back here. */
  here?: string;
}

export function layout(frame: IPageFrame, content: SafeHtml): SafeHtml {
  const { base } = frame;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${frame.title} · smartregistry</title>
<link rel="stylesheet" href="${base}/-/assets/web.css">
<script src="${base}/-/assets/copy.js" defer></script>
<script src="${base}/-/assets/search.js" defer></script>
</head>
<body>
<header>
<a class="brand" href="${base}/">smartregistry</a>
<form role="search" action="${base}/search" method="get">
<label class="visually-hidden" for="q">Search packages</label>
<input id="q" name="q" type="search" placeholder="Search packages" value="${frame.query ?? ''}">
<button type="submit">Search</button>
</form>
<nav>${frame.userId ? html`<span>Signed in as <strong>${frame.userId}</strong></span>${frame.signOut ? html` <form class="inline" action="${base}/sign-out" method="post"><button type="submit">Sign out</button></form>` : ''}` : html`<a href="${base}/sign-in${frame.here ? `?next=${encodeURIComponent(frame.here)}` : ''}">Sign in</a>`}</nav>
</header>
<main>
${content}
</main>
</body>
</html>
`;
}

export interface IProtocolListing {
  protocol: TRegistryProtocol;
  /** Shown only when the visitor may read every package of the protocol. */
  total?: number;
  entries: ICatalogueEntry[];
}

function entryList(base: string, protocol: TRegistryProtocol, entries: ICatalogueEntry[]): SafeHtml {
  return html`<ul class="results">${entries.map(
    (entry) => html`<li><a href="${base}/packages/${protocol}/${pathOf(entry.name)}">${entry.name}</a>${entry.version ? html` <span class="muted">${entry.version}</span>` : ''}${entry.description ? html`<br><span>${entry.description}</span>` : ''}</li>`,
  )}</ul>`;
}

function listingSection(base: string, listing: IProtocolListing, emptyText: string): SafeHtml {
  const count = listing.total !== undefined ? html` <span class="muted">(${listing.total})</span>` : '';
  return html`<section aria-labelledby="section-${listing.protocol}">
<h2 id="section-${listing.protocol}">${PROTOCOL_TITLES[listing.protocol]}${count}</h2>
${listing.entries.length > 0 ? entryList(base, listing.protocol, listing.entries) : html`<p class="muted">${emptyText}</p>`}
</section>`;
}

/** Counts per ecosystem, where the visitor may read every package of it (else the count would tell about private ones). */
function countsSection(listings: IProtocolListing[]): SafeHtml {
  const counted = listings.filter((listing) => listing.total !== undefined);
  if (counted.length === 0) return html``;
  return html`<section aria-labelledby="counts"><h2 id="counts">Packages per ecosystem</h2><ul class="counts">${counted.map(
    (listing) => html`<li><a href="#section-${listing.protocol}">${PROTOCOL_TITLES[listing.protocol]}</a> <strong>${listing.total}</strong></li>`,
  )}</ul></section>`;
}

function recentSection(base: string, recent: IRecentPublish[]): SafeHtml {
  if (recent.length === 0) return html``;
  return html`<section aria-labelledby="recent"><h2 id="recent">Recently published</h2><ul class="results">${recent.map(
    (entry) => html`<li><a href="${base}/packages/${entry.protocol}/${pathOf(entry.name)}${entry.version ? `?version=${encodeURIComponent(entry.version)}` : ''}">${entry.name}</a>${
      entry.version ? html` <span class="muted">${entry.version}</span>` : ''
    } <span class="badge">${PROTOCOL_TITLES[entry.protocol]}</span> <span class="muted"><time datetime="${entry.time}">${formatDate(entry.time)}</time></span></li>`,
  )}</ul></section>`;
}

export function homeContent(base: string, listings: IProtocolListing[], recent: IRecentPublish[]): SafeHtml {
  return html`<h1>Packages</h1>
${countsSection(listings)}
${recentSection(base, recent)}
${listings.map((listing) => listingSection(base, listing, 'Nothing to show.'))}`;
}

export function searchContent(base: string, query: string, listings: IProtocolListing[]): SafeHtml {
  const found = listings.some((listing) => listing.entries.length > 0);
  return html`<h1>Search results for “${query}”</h1>
${found ? listings.filter((listing) => listing.entries.length > 0).map((listing) => listingSection(base, listing, '')) : html`<p>No packages match.</p>`}`;
}

function versionMarks(version: ICataloguePackage['versions'][number]): SafeHtml {
  return html`${(version.tags ?? []).map((tag) => html`<span class="badge">${tag}</span>`)}${
    version.yanked !== undefined ? html`<span class="badge warn" title="${version.yanked}">yanked</span>` : ''
  }${version.deprecated !== undefined ? html`<span class="badge warn" title="${version.deprecated}">deprecated</span>` : ''}`;
}

/** `ours`: the dependencies that are packages here the visitor may read (linked; the rest are plain names). */
export function packageContent(base: string, protocol: TRegistryProtocol, pkg: ICataloguePackage, ours: ReadonlySet<string> = new Set()): SafeHtml {
  const packagePath = `${base}/packages/${protocol}/${pathOf(pkg.name)}`;
  const shown = pkg.versions.find((version) => version.version === pkg.version);
  const readme = pkg.readme ? (pkg.readme.format === 'markdown' ? renderMarkdown(pkg.readme.text) : renderPlainText(pkg.readme.text)) : null;
  return html`<p class="muted">${PROTOCOL_TITLES[protocol]}</p>
<h1>${pkg.name}${pkg.version ? html` <span class="muted">${pkg.version}</span>` : ''}${shown ? versionMarks({ ...shown, tags: [] }) : ''}</h1>
${pkg.description ? html`<p>${pkg.description}</p>` : ''}
${pkg.license ? html`<p class="muted">License: ${pkg.license}</p>` : ''}
${shown?.deprecated ? html`<p class="badge warn">Deprecated: ${shown.deprecated}</p>` : ''}
${pkg.install.length > 0 ? html`<section aria-labelledby="install"><h2 id="install">Install</h2>${pkg.install.map(
    (snippet, index) => html`<h3>${snippet.label}</h3><div class="snippet"><pre id="install-${index}"><code>${snippet.text}</code></pre><button type="button" data-copy="install-${index}" hidden>Copy</button></div>`,
  )}</section>` : ''}
${pkg.facts && pkg.facts.length > 0 ? html`<section aria-labelledby="details"><h2 id="details">Details</h2><div class="table"><table><tbody>${pkg.facts.map(
    (fact) => html`<tr><th scope="row">${fact.label}</th><td class="digest">${fact.version ? html`<a href="${packagePath}?version=${encodeURIComponent(fact.version)}">${fact.value}</a>` : fact.value}</td></tr>`,
  )}</tbody></table></div></section>` : ''}
${pkg.dependencies.length > 0 ? html`<section aria-labelledby="dependencies"><h2 id="dependencies">Dependencies</h2><ul>${pkg.dependencies.map(
    (dependency) => html`<li>${ours.has(dependency.name) ? html`<a href="${base}/packages/${protocol}/${pathOf(dependency.name)}">${dependency.name}</a>` : dependency.name} <code>${dependency.requirement}</code>${dependency.kind ? html` <span class="badge">${dependency.kind}</span>` : ''}</li>`,
  )}</ul></section>` : ''}
${pkg.files.length > 0 ? html`<section aria-labelledby="files"><h2 id="files">Files</h2><div class="table"><table><thead><tr><th scope="col">File</th><th scope="col">Size</th><th scope="col">Digests</th></tr></thead><tbody>${pkg.files.map(
    (file) => html`<tr><td>${file.name}</td><td>${formatBytes(file.size)}</td><td class="digest">${Object.entries(file.digests).map(([algorithm, digest]) => html`${algorithm}: ${digest}<br>`)}</td></tr>`,
  )}</tbody></table></div></section>` : ''}
<section aria-labelledby="versions"><h2 id="versions">Versions</h2><div class="table"><table><thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col"><span class="visually-hidden">Marks</span></th></tr></thead><tbody>${pkg.versions.map(
    (version) => html`<tr><td><a href="${packagePath}?version=${encodeURIComponent(version.version)}">${version.version}</a></td><td>${formatDate(version.published)}</td><td>${versionMarks(version)}</td></tr>`,
  )}</tbody></table></div></section>
${readme ? html`<section class="readme" aria-labelledby="readme"><h2 id="readme">Readme</h2>${readme}</section>` : ''}`;
}

export function signInContent(base: string, next: string, problem?: string, username = ''): SafeHtml {
  return html`<h1>Sign in</h1>
${problem ? html`<p class="problem" role="alert">${problem}</p>` : ''}
<form class="sign-in" action="${base}/sign-in" method="post">
<input type="hidden" name="next" value="${next}">
<label for="username">User name</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${username}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="muted">Your registry user name and password. Package managers keep using their tokens.</p>`;
}

export function messageContent(heading: string, text: string): SafeHtml {
  return html`<h1>${heading}</h1><p>${text}</p>`;
}
