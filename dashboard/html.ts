/**
 * The dashboard's only way to build HTML: `html` escapes every interpolated
 * value unless it is already `Html` (made by `html` itself), so a job id,
 * queue name or error message full of markup always shows as text.
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A value allowed inside `html`: text is escaped, Html kept, arrays joined, null/undefined/false empty. */
export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map((item: Interpolation) => render(item)).join('');
  if (value === null || value === undefined || value === false) return '';
  if (typeof value === 'string') return escapeHtml(value);
  return escapeHtml(String(value));
}

/**
 * The static parts of each template with their source indentation dropped
 * (a newline and the spaces after it become one newline): pages are about
 * half the size, and HTML renders the same. Values are never touched.
 */
const compacted = new WeakMap<TemplateStringsArray, readonly string[]>();

function compact(strings: TemplateStringsArray): readonly string[] {
  let parts = compacted.get(strings);
  if (parts === undefined) {
    parts = strings.map((part) => part.replace(/\n[ \t]+/g, '\n'));
    compacted.set(strings, parts);
  }
  return parts;
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  const parts = compact(strings);
  let out = parts[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (parts[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup the dashboard generated itself, never user data. */
export function trusted(markup: string): Html {
  return new Html(markup);
}
