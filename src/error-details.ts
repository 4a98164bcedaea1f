import { ERROR_TYPE_OTHER } from './attributes';
import { boundedJson, truncateText } from './bounded-text';
import { readProperty, readString } from './safe-read';

/** What a span and the ledger keep of a thrown value. */
export interface ErrorDetails {
  /** The error's class name (its `name`), or `_OTHER` for a thrown non-Error. */
  readonly type: string;
  /** The message, at most `maxMessageLength` characters. */
  readonly message: string;
  /** The stack, at most `maxStackLength` characters; absent when there is none. */
  readonly stack?: string;
}

export interface ErrorDetailsLimits {
  readonly maxMessageLength: number;
  readonly maxStackLength: number;
}

/** `error.type` must stay low-cardinality: a class name, never a message. */
const MAX_TYPE_LENGTH = 128;

/**
 * Maps anything a processor can throw to bounded, printable details. Errors
 * are recognised by shape, not `instanceof`: sandboxed processors rebuild them
 * in the parent as plain `Error`s with `name`, `message` and `stack` copied.
 * Never throws, whatever it is given (getters that throw, proxies, cycles).
 */
export function errorToDetails(thrown: unknown, limits: ErrorDetailsLimits): ErrorDetails {
  if (typeof thrown === 'string') {
    return { type: ERROR_TYPE_OTHER, message: truncateText(thrown, limits.maxMessageLength) };
  }
  if (typeof thrown !== 'object' || thrown === null) {
    return {
      type: ERROR_TYPE_OTHER,
      message: truncateText(describeNonObject(thrown), limits.maxMessageLength),
    };
  }
  const name = readString(thrown, 'name');
  const message = readString(thrown, 'message');
  const stack = readString(thrown, 'stack');
  if (name === undefined && message === undefined) {
    return {
      type: ERROR_TYPE_OTHER,
      message: boundedJson(thrown, limits.maxMessageLength),
    };
  }
  const type = truncateText(name || constructorName(thrown) || 'Error', MAX_TYPE_LENGTH);
  const details: ErrorDetails = {
    type,
    message: truncateText(message ?? '', limits.maxMessageLength),
  };
  return stack === undefined ? details : { ...details, stack: truncateText(stack, limits.maxStackLength) };
}

function describeNonObject(value: unknown): string {
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  return String(value);
}

function constructorName(target: object): string | undefined {
  const ctor = readProperty(target, 'constructor');
  if (typeof ctor !== 'function') return undefined;
  return ctor.name === 'Object' ? undefined : ctor.name;
}
