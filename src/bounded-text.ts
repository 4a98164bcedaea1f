/**
 * Size-capped text and JSON for span attributes. User data (results, metadata,
 * error messages) can be huge, circular or hostile (throwing getters); every
 * value we put on a span goes through here so that it is bounded and never
 * throws.
 */

import { readProperty } from './safe-read';

const ELLIPSIS = '…';

/**
 * Cuts `text` to at most `maxLength` UTF-16 code units, marking a cut with a
 * trailing ellipsis. Never splits a surrogate pair: a lone surrogate is not
 * valid Unicode and PostgreSQL rejects it in `jsonb`.
 */
export function truncateText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  if (maxLength < 1) return '';
  let end = maxLength - ELLIPSIS.length;
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return text.slice(0, Math.max(end, 0)) + ELLIPSIS;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Thrown internally once the output passes its budget; never escapes. */
class OutputTooLong extends Error {
  constructor(readonly partial: string) {
    super('output too long');
  }
}

/**
 * Serialises `value` as JSON of at most `maxLength` characters, always valid
 * JSON. Circular references become `"[Circular]"`, BigInts strings, throwing
 * getters and `toJSON` methods `"[Unserializable]"`. When the JSON would be
 * longer than `maxLength`, the result is
 * `{"truncated":true,"preview":"<the start of the JSON>"}` instead, and
 * serialisation stops as soon as the budget is spent, so a huge value costs
 * about `maxLength` work, not its own size.
 */
export function boundedJson(value: unknown, maxLength: number): string {
  const parts: string[] = [];
  const budget = { left: maxLength };
  try {
    writeJson(value, [], parts, budget, 0);
  } catch (err) {
    if (!(err instanceof OutputTooLong)) throw err;
    return truncatedJson(err.partial, maxLength);
  }
  const json = parts.join('');
  return json === '' ? 'null' : json;
}

const TRUNCATED_ENVELOPE = '{"truncated":true,"preview":""}';

function truncatedJson(partial: string, maxLength: number): string {
  // JSON.stringify escapes the preview, which can lengthen it; shrink until it fits.
  let previewLength = Math.max(maxLength - TRUNCATED_ENVELOPE.length, 0);
  for (;;) {
    const json = JSON.stringify({ truncated: true, preview: truncateText(partial, previewLength) });
    if (json.length <= maxLength || previewLength === 0) return json;
    previewLength = Math.floor(previewLength * 0.8);
  }
}

const MAX_DEPTH = 32;

function emit(text: string, parts: string[], budget: { left: number }): void {
  parts.push(text);
  budget.left -= text.length;
  if (budget.left < 0) throw new OutputTooLong(parts.join(''));
}

/** Writes one JSON value; returns false when the value is omitted (undefined, function, symbol). */
function writeJson(
  value: unknown,
  ancestors: object[],
  parts: string[],
  budget: { left: number },
  depth: number,
): boolean {
  switch (typeof value) {
    case 'string':
      emit(JSON.stringify(value), parts, budget);
      return true;
    case 'number':
      emit(Number.isFinite(value) ? String(value) : 'null', parts, budget);
      return true;
    case 'boolean':
      emit(value ? 'true' : 'false', parts, budget);
      return true;
    case 'bigint':
      emit(JSON.stringify(value.toString()), parts, budget);
      return true;
    case 'undefined':
    case 'function':
    case 'symbol':
      return false;
    case 'object':
      break;
  }
  if (value === null) {
    emit('null', parts, budget);
    return true;
  }
  if (ancestors.includes(value)) {
    emit('"[Circular]"', parts, budget);
    return true;
  }
  if (depth >= MAX_DEPTH) {
    emit('"[Too deep]"', parts, budget);
    return true;
  }
  const replaced = readToJson(value);
  if (replaced.kind === 'threw') {
    emit('"[Unserializable]"', parts, budget);
    return true;
  }
  if (replaced.kind === 'value') {
    return writeJson(replaced.value, [...ancestors, value], parts, budget, depth + 1);
  }
  const nextAncestors = [...ancestors, value];
  if (Array.isArray(value)) {
    emit('[', parts, budget);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) emit(',', parts, budget);
      const item = readProperty(value, i);
      if (!writeJson(item, nextAncestors, parts, budget, depth + 1)) emit('null', parts, budget);
    }
    emit(']', parts, budget);
    return true;
  }
  emit('{', parts, budget);
  let first = true;
  for (const key of safeKeys(value)) {
    const item = readProperty(value, key);
    const mark = parts.length;
    const leftBefore = budget.left;
    emit(`${first ? '' : ','}${JSON.stringify(key)}:`, parts, budget);
    if (writeJson(item, nextAncestors, parts, budget, depth + 1)) {
      first = false;
    } else {
      parts.length = mark;
      budget.left = leftBefore;
    }
  }
  emit('}', parts, budget);
  return true;
}

type ToJsonResult = { kind: 'none' } | { kind: 'value'; value: unknown } | { kind: 'threw' };

function readToJson(value: object): ToJsonResult {
  try {
    if (value instanceof Error) {
      // JSON.stringify(error) gives "{}": keep what a reader needs.
      return { kind: 'value', value: { name: value.name, message: value.message } };
    }
    const toJSON: unknown = Reflect.get(value, 'toJSON');
    if (typeof toJSON !== 'function') return { kind: 'none' };
    const replaced: unknown = toJSON.call(value);
    return { kind: 'value', value: replaced };
  } catch {
    return { kind: 'threw' };
  }
}

function safeKeys(value: object): string[] {
  try {
    return Object.keys(value);
  } catch {
    return [];
  }
}
