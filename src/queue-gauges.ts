/**
 * Optional gauges from BullMQ `Queue` handles: how many jobs wait, how old
 * the oldest is and whether the queue is paused, so that a queue nobody
 * consumes does not look idle, and a paused one does not look abandoned.
 */
import { metrics } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/api';
import * as attr from './attributes';
import { METRIC_QUEUE_OLDEST_WAITING_AGE, METRIC_QUEUE_PAUSED, METRIC_QUEUE_WAITING } from './metric-names';
import { readFiniteNumber, readProperty } from './safe-read';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version';

/** How long one collection waits for a queue's counts before leaving it out. */
const READ_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** When a job started waiting: when it was added, or when its delay ended. */
function waitingSince(job: unknown): number | undefined {
  const added = readFiniteNumber(job, 'timestamp');
  return added === undefined ? undefined : added + (readFiniteNumber(readProperty(job, 'opts'), 'delay') ?? 0);
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.min(a, b);
}

/** What the gauges read of a queue (a BullMQ `Queue` fits). */
export interface ObservableQueue {
  readonly name: string;
  getJobCountByTypes(...types: Array<'wait' | 'prioritized'>): Promise<number>;
  getJobs(types: Array<'wait' | 'prioritized'>, start?: number, end?: number, asc?: boolean): Promise<unknown[]>;
  /** Without it (a handle that is not a BullMQ Queue), no paused gauge is reported for the queue. */
  isPaused?(): Promise<boolean>;
}

export interface QueueGauges {
  /** Stops observing (the gauges report nothing more). */
  stop(): void;
}

/**
 * Observes `queues` on every metric collection. A queue that cannot be read
 * (Redis down) is left out of that collection; nothing is thrown.
 */
export function observeQueues(
  queues: readonly ObservableQueue[],
  options: { readonly meterProvider?: MeterProvider; readonly now?: () => number } = {},
): QueueGauges {
  for (const queue of queues) {
    if (typeof queue?.getJobCountByTypes !== 'function' || typeof queue.getJobs !== 'function') {
      throw new TypeError('bullmq-ledger: observeQueues needs BullMQ Queue instances');
    }
  }
  const now = options.now ?? Date.now;
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(PACKAGE_NAME, PACKAGE_VERSION);
  const waiting = meter.createObservableGauge(METRIC_QUEUE_WAITING, {
    unit: '{job}',
    description: 'Jobs waiting in the queue',
  });
  const oldest = meter.createObservableGauge(METRIC_QUEUE_OLDEST_WAITING_AGE, {
    unit: 's',
    description: 'Age of the oldest waiting job (0 when none waits)',
  });
  const paused = meter.createObservableGauge(METRIC_QUEUE_PAUSED, {
    unit: '1',
    description: 'Whether the queue is paused (1) or not (0)',
  });
  const gauges = [waiting, oldest, paused];
  const callback = async (result: {
    observe(metric: typeof waiting, value: number, attributes: Record<string, string>): void;
  }): Promise<void> => {
    await Promise.all(
      queues.map(async (queue) => {
        try {
          // Bounded: a Redis that does not answer must not stall the whole collection (every other series).
          // The oldest plain waiting job, and the prioritized job to run next (that set is ordered by
          // priority, not age: finding its oldest would mean reading all of it).
          const [count, [oldestWaiting], [nextPrioritized], isPaused] = await withTimeout(
            Promise.all([
              queue.getJobCountByTypes('wait', 'prioritized'),
              queue.getJobs(['wait'], 0, 0, true),
              queue.getJobs(['prioritized'], 0, 0, true),
              typeof queue.isPaused === 'function' ? queue.isPaused() : undefined,
            ]),
            READ_TIMEOUT_MS,
          );
          const enqueuedAt = earliest(waitingSince(oldestWaiting), waitingSince(nextPrioritized));
          const attributes = {
            [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
            [attr.ATTR_MESSAGING_DESTINATION_NAME]: queue.name,
          };
          result.observe(waiting, count, attributes);
          result.observe(oldest, enqueuedAt === undefined ? 0 : Math.max(now() - enqueuedAt, 0) / 1000, attributes);
          if (typeof isPaused === 'boolean') result.observe(paused, isPaused ? 1 : 0, attributes);
        } catch {
          // unreadable now: no point for this queue in this collection
        }
      }),
    );
  };
  meter.addBatchObservableCallback(callback, gauges);
  return { stop: () => meter.removeBatchObservableCallback(callback, gauges) };
}
