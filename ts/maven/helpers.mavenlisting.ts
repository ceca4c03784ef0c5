/** The HTML page of a repository directory, as people browsing a Maven repository expect. */
export interface IListingEntry {
  name: string;
  directory: boolean;
  size?: number;
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderDirectoryListing(title: string, entries: IListingEntry[]): string {
  const sorted = [...entries].sort((a, b) => Number(b.directory) - Number(a.directory) || (a.name < b.name ? -1 : 1));
  const rows = sorted.map((entry) => {
    const href = entry.name.split('/').map(encodeURIComponent).join('/');
    const size = entry.size === undefined ? '' : ` ${entry.size}`;
    return `<a href="${escapeHtml(href)}">${escapeHtml(entry.name)}</a>${size}`;
  });
  const parent = title === '/' ? '' : '<a href="../">../</a>\n';
  return `<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>Index of ${escapeHtml(title)}</title></head>\n<body>\n<h1>Index of ${escapeHtml(title)}</h1>\n<pre>\n${parent}${rows.join('\n')}\n</pre>\n</body>\n</html>\n`;
}
