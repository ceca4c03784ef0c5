import * as crypto from 'node:crypto';
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { BoundedCache } from '../core/classes.boundedcache.js';
import { escapeHtml, SafeHtml } from './helpers.html.js';

/** Readmes longer than this are cut before rendering (rendering cost grows with the text). */
export const MAX_README_CHARS = 512 * 1024;

const markdown = new Marked({ gfm: true, async: false });

/**
 * What a rendered readme may contain: text structure, links and images, nothing active. Links and
 * image sources only over http(s) (and mailto for links); no `style`, no event attributes, no forms,
 * no frames, no scripts: sanitize-html drops everything not listed here.
 */
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'kbd', 'samp'],
    ...['ul', 'ol', 'li', 'dl', 'dt', 'dd', 'em', 'strong', 'del', 's', 'sub', 'sup', 'a', 'img', 'details', 'summary'],
    ...['table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'span', 'input'],
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    th: ['align'],
    td: ['align'],
    ol: ['start'],
    input: ['type', 'checked', 'disabled'],
    code: ['class'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https'],
  allowedSchemesByTag: { a: ['http', 'https', 'mailto'] },
  allowProtocolRelative: false,
  transformTags: {
    // Links leave the registry without telling the target where the visitor came from.
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }),
    // Task-list boxes only: disabled checkboxes, nothing else of <input>.
    input: (tagName, attribs) =>
      attribs.type === 'checkbox' ? { tagName, attribs: { type: 'checkbox', disabled: '', ...('checked' in attribs ? { checked: '' } : {}) } } : { tagName: 'span', attribs: {} },
  },
};

/** Rendering and cleaning take milliseconds; the same readme is shown again and again. */
const rendered = new BoundedCache<string>({ maxEntries: 2000, maxBytes: 32 * 1024 * 1024, sizeOf: (html) => html.length * 2 });

/** A readme as safe HTML: Markdown rendered by marked, then cleaned by sanitize-html (kept by the text's digest). */
export function renderMarkdown(text: string): SafeHtml {
  const source = text.slice(0, MAX_README_CHARS);
  const key = crypto.createHash('sha256').update(source).digest('base64');
  let html = rendered.get(key);
  if (html === undefined) {
    html = sanitizeHtml(markdown.parse(source) as string, SANITIZE);
    rendered.set(key, html);
  }
  return new SafeHtml(html);
}

/** A plain-text long description (reStructuredText, plain), shown as written. */
export const renderPlainText = (text: string) => new SafeHtml(`<pre class="readme-text">${escapeHtml(text.slice(0, MAX_README_CHARS))}</pre>`);
