/**
 * Property reads that never throw. BullMQ objects and user values are read
 * through these from instrumentation code, where a throwing getter or a proxy
 * must not reach the host application.
 */

export function readProperty(target: unknown, key: string | number): unknown {
  if (typeof target !== 'object' && typeof target !== 'function') return undefined;
  if (target === null) return undefined;
  try {
    const value: unknown = Reflect.get(target, key);
    return value;
  } catch {
    return undefined;
  }
}

export function readString(target: unknown, key: string): string | undefined {
  const value = readProperty(target, key);
  return typeof value === 'string' ? value : undefined;
}

export function readFiniteNumber(target: unknown, key: string): number | undefined {
  const value = readProperty(target, key);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return isObject(value) && typeof readProperty(value, 'then') === 'function';
}
