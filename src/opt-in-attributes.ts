/**
 * The only paths by which user data (job payloads, results) reaches a span:
 * an allow-list of `job.data` keys and two hooks, all capped in size. Nothing
 * here runs unless the user configured it.
 */
import type { Attributes, AttributeValue, DiagLogger } from '@opentelemetry/api';
import { ATTR_JOB_DATA_PREFIX } from './attributes';
import { boundedJson, truncateText } from './bounded-text';
import { isObject, isPromiseLike, readProperty } from './safe-read';

/** Copies the allow-listed top-level keys of `data` that are present. */
export function jobDataAttributes(data: unknown, allowList: readonly string[], maxLength: number): Attributes {
  const attributes: Attributes = {};
  if (allowList.length === 0 || !isObject(data)) return attributes;
  for (const key of allowList) {
    if (!Object.hasOwn(data, key)) continue;
    const value = toAttributeValue(readProperty(data, key), maxLength);
    if (value !== undefined) attributes[ATTR_JOB_DATA_PREFIX + key] = value;
  }
  return attributes;
}

function toAttributeValue(value: unknown, maxLength: number): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
      return truncateText(value, maxLength);
    case 'number':
    case 'boolean':
      return value;
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      return boundedJson(value, maxLength);
  }
}

/**
 * Runs a user hook and returns its value as capped JSON, or undefined when the
 * hook is absent, returns undefined, or fails. A failing hook is logged and
 * otherwise ignored: it must not affect the job.
 */
export function runJsonHook(
  hookName: string,
  hook: (() => unknown) | undefined,
  maxLength: number,
  diag: DiagLogger,
): string | undefined {
  if (hook === undefined) return undefined;
  let value: unknown;
  try {
    value = hook();
  } catch (err) {
    diag.error(`bullmq-ledger: the ${hookName} hook threw; its value is left out of the span`, err);
    return undefined;
  }
  if (isPromiseLike(value)) {
    diag.error(
      `bullmq-ledger: the ${hookName} hook must return a value synchronously, not a Promise; its value is left out of the span`,
    );
    try {
      // Keep a rejected promise from becoming an unhandled rejection in the host.
      value.then(undefined, () => undefined);
    } catch {
      // A thenable whose then() throws: nothing to wait for.
    }
    return undefined;
  }
  return value === undefined ? undefined : boundedJson(value, maxLength);
}
