/**
 * The BullMQ module under test. `npm test` runs against the project's BullMQ
 * (6.x); `scripts/test-compat.mjs` sets BULLMQ_LEDGER_TEST_BULLMQ to a folder
 * with another BullMQ installed (test/compat/bullmq-5.0.0, test/compat/bullmq-5.81.5) and runs the same
 * instrumentation tests against it. Tests take BullMQ's classes from here,
 * never from a static import, so that both runs exercise the right copy.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import './otel'; // the instrumentation must be enabled before BullMQ is loaded

import type * as BullMQ from 'bullmq';

type BullMQModule = typeof BullMQ;

const compatDir = process.env.BULLMQ_LEDGER_TEST_BULLMQ;
const load = compatDir ? createRequire(path.resolve(compatDir, 'package.json')) : createRequire(__filename);

function isBullMQModule(value: unknown): value is BullMQModule {
  return (
    typeof value === 'object' &&
    value !== null &&
    'Worker' in value &&
    typeof value.Worker === 'function' &&
    'Queue' in value &&
    typeof value.Queue === 'function'
  );
}

const loaded: unknown = load('bullmq');
if (!isBullMQModule(loaded)) throw new Error('bullmq did not load');

export const bullmq: BullMQModule = loaded;

/** The version of the BullMQ under test, from its package.json. */
export const bullmqVersion: string = (() => {
  const pkg: unknown = load('bullmq/package.json');
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') {
    return pkg.version;
  }
  throw new Error('bullmq/package.json has no version');
})();

export const isBullMQ6 = Number(bullmqVersion.split('.')[0]) >= 6;

function workerHas(method: string): boolean {
  return typeof Reflect.get(bullmq.Worker.prototype, method) === 'function';
}

/** What the BullMQ under test can do; tests of a feature it lacks are not defined. */
export const features = {
  /** `WaitingError` (BullMQ 5.x later releases and 6). */
  waitingError: typeof Reflect.get(bullmq, 'WaitingError') === 'function',
  /** The `maxStartedAttempts` worker option. */
  maxStartedAttempts: workerHas('getUnrecoverableErrorMessage'),
  /**
   * BullMQ 5.0 fails a job that stalled too often inside its stalled checker
   * (`notifyFailedJobs`); later versions fail it at the next pickup.
   */
  stalledFailedByChecker: workerHas('notifyFailedJobs'),
  /** A rate-limited job is moved back with `Job.moveToWait`, which fails when the lock was lost (not in 5.0). */
  rateLimitMoveChecksLock: typeof Reflect.get(bullmq.Job.prototype, 'moveToWait') === 'function',
};

/** Defines the test only when the BullMQ under test has the feature it needs. */
export function itWithFeature(feature: boolean, title: string, fn: Mocha.AsyncFunc): void {
  if (feature) it(title, fn);
}
