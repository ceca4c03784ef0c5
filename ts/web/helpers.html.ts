/**
 * HTML built with a tagged template that escapes every interpolated value, so text from packages
 * can never become markup by accident. Markup from elsewhere (a sanitised readme, another template)
 * is passed as `SafeHtml`.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => ESCAPES[char]);

type THtmlValue = SafeHtml | string | number | boolean | null | undefined | THtmlValue[];

function render(value: THtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: THtmlValue[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1];
  });
  return new SafeHtml(out);
}

/** A path below the page's base: each segment percent-encoded, `/` kept between them. */
export const pathOf = (...segments: string[]) => segments.map((segment) => segment.split('/').map(encodeURIComponent).join('/')).join('/');

export function formatBytes(size: number | undefined): string {
  if (size === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `2026-12-01T06:08:22.000Z` → `2026-12-01`; anything else unchanged. */
export const formatDate = (iso: string | undefined) => (iso && /^\d{4}-\d\d-\d\d/.test(iso) ? iso.slice(0, 10) : (iso ?? ''));
