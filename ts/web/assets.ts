/**
 * The page's static files, shipped inside the package (no build step, nothing fetched at run time).
 * The stylesheet follows the system's light or dark scheme and fits a phone's width; the scripts make
 * the copy buttons work and search as you type: every page reads without them.
 */
export const WEB_ASSETS: Record<string, { contentType: string; body: string }> = {
  'web.css': {
    contentType: 'text/css; charset=utf-8',
    body: `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --accent: #0a58ca; --code: #f3f4f6; --warn: #9a3412; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9aa4af; --line: #30363d; --accent: #6cb6ff; --code: #161b22; --warn: #fdba74; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header form { display: flex; flex: 1 1 16rem; gap: .5rem; }
header input[type=search] { flex: 1; min-width: 0; padding: .4rem .6rem; font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; padding: .35rem .8rem; color: var(--fg); background: var(--code); border: 1px solid var(--line); border-radius: 6px; cursor: pointer; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
.muted { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
ul.results { list-style: none; padding: 0; }
form.inline { display: inline; }
form.sign-in { display: grid; gap: .4rem; max-width: 22rem; }
form.sign-in input { font: inherit; padding: .4rem .6rem; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
form.sign-in button { justify-self: start; margin-top: .5rem; }
.problem { color: var(--warn); font-weight: 600; }
ul.counts { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; }
ul.results li { padding: .5rem 0; border-bottom: 1px solid var(--line); }
pre, code { font-family: ui-monospace, monospace; font-size: .9em; }
pre { overflow-x: auto; padding: .75rem; background: var(--code); border-radius: 6px; }
.snippet { display: flex; gap: .5rem; align-items: flex-start; }
.snippet pre { flex: 1; margin: 0 0 .75rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.digest { font-family: ui-monospace, monospace; font-size: .8em; word-break: break-all; }
.badge { display: inline-block; padding: 0 .4rem; margin-left: .25rem; font-size: .8em; border: 1px solid var(--line); border-radius: 1rem; }
.badge.warn { color: var(--warn); border-color: var(--warn); }
.readme { border-top: 1px solid var(--line); margin-top: 1rem; overflow-wrap: anywhere; }
.readme img { max-width: 100%; }
`,
  },
  'copy.js': {
    contentType: 'text/javascript; charset=utf-8',
    body: `// Copy buttons: shown only when this script runs; each copies the text of the element it names.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
  });
}
`,
  },
  'search.js': {
    contentType: 'text/javascript; charset=utf-8',
    body: `// Search as you type: the results page for what is in the box replaces the page's main part.
const box = document.getElementById('q');
let timer;
let asked = box ? box.value.trim() : '';
let controller;
box?.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    const query = box.value.trim();
    if (query === '' || query === asked) return;
    asked = query;
    controller?.abort();
    controller = new AbortController();
    const url = box.form.action + '?' + new URLSearchParams({ q: query });
    try {
      const response = await fetch(url, { signal: controller.signal, credentials: 'same-origin' });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), 'text/html');
      const results = page.querySelector('main');
      if (!results || box.value.trim() !== query) return;
      document.querySelector('main').replaceWith(results);
      document.title = page.title;
      history.replaceState(null, '', url);
    } catch {
      // A newer query took over, or the network failed: pressing Enter still searches.
    }
  }, 150);
});
`,
  },
};
