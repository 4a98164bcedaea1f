/**
 * Values PostgreSQL would reject, made storable: a NUL character is invalid in
 * `text` and `jsonb`, and a lone UTF-16 surrogate (which JSON.stringify writes
 * as a `\ud800` escape) is rejected by `jsonb`. One such value in a batch would
 * otherwise fail every retry of that batch.
 */

// eslint-disable-next-line no-control-regex -- NUL is exactly what must be found
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The string with NULs and lone surrogates replaced by U+FFFD. */
export function pgSafeText(value: string): string {
  return value.replace(UNSAFE, '\uFFFD');
}

/** A parsed JSON value with every string (keys too) made safe. */
export function pgSafeJson(value: unknown): unknown {
  if (typeof value === 'string') return pgSafeText(value);
  if (Array.isArray(value)) return value.map(pgSafeJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [pgSafeText(key), pgSafeJson(item)]));
  }
  return value;
}
