/**
 * Runtime checks for the parts of BullMQ this package touches. The supported
 * range spans BullMQ 5 and 6, whose internals differ, so every class and
 * method is looked up and checked before it is wrapped; anything missing is
 * skipped with a diag message instead of breaking the application.
 */
import type { BullMQJob } from './types';
import { isObject, readProperty } from './safe-read';

/** A method as we wrap it: whatever it takes and returns is passed through unchanged. */
export type WrappableMethod = (this: unknown, ...args: unknown[]) => unknown;

/** `moduleExports[className].prototype`, when it is a class. */
export function classPrototype(moduleExports: unknown, className: string): object | undefined {
  const cls = readProperty(moduleExports, className);
  if (typeof cls !== 'function') return undefined;
  const prototype = readProperty(cls, 'prototype');
  return isObject(prototype) ? prototype : undefined;
}

export function hasMethod<K extends string>(target: object, key: K): target is object & Record<K, WrappableMethod> {
  return typeof readProperty(target, key) === 'function';
}

/** A BullMQ job as Workers and Queues hand it around. */
export function isBullMQJob(value: unknown): value is BullMQJob {
  return (
    isObject(value) &&
    typeof readProperty(value, 'name') === 'string' &&
    isObject(readProperty(value, 'opts')) &&
    typeof readProperty(value, 'attemptsMade') === 'number' &&
    typeof readProperty(value, 'moveToFailed') === 'function'
  );
}

/** The queue name of a Worker, Queue or Job. */
export function queueNameOf(value: unknown): string | undefined {
  const name = readProperty(value, 'name');
  return typeof name === 'string' ? name : undefined;
}

/** A job id as a string: BullMQ ids are strings, but a caller may pass a number as `jobId`. */
export function jobIdOf(job: unknown): string | undefined {
  const id = readProperty(job, 'id');
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}
