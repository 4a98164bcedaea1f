/** Ledgers for the health judgement: jobs ending at chosen times before now, on chosen workers. */
import type { MikroORM } from '@mikro-orm/core';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { attemptRows } from './ledger-rows';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

type Outcome = Parameters<typeof attemptRows>[3];

export interface Worker {
  readonly service: string;
  readonly host: string;
  readonly pid: number;
}

export const DEFAULT_WORKER: Worker = { service: 'svc', host: 'host', pid: 42 };

/**
 * One attempt of a job, ending at `endedAt` (epoch ms) on `worker`; a failed
 * or retried attempt carries an error named `errorName` (a stalled one none).
 */
export function attemptEnding(
  queue: string,
  jobId: string,
  outcome: Outcome,
  endedAt: number,
  { attempt = 1, worker = DEFAULT_WORKER, errorName = 'Error' } = {},
): LedgerRows {
  const rows = attemptRows(queue, jobId, attempt, outcome, { enqueuedAt: endedAt - 100 - attempt * 1000 });
  const errorDetails =
    outcome === 'failed' || outcome === 'retry' ? { name: errorName, message: `${errorName} in ${jobId}` } : null;
  return {
    record: { ...rows.record, errorDetails },
    ...(rows.attempt === undefined
      ? {}
      : {
          attempt: {
            ...rows.attempt,
            errorDetails,
            serviceName: worker.service,
            hostName: worker.host,
            processPid: worker.pid,
          },
        }),
  };
}

/** `count` jobs with one attempt each, ending evenly from `fromAgo` to `toAgo` before `now` (newest last). */
export function spread(
  queue: string,
  prefix: string,
  count: number,
  outcome: (i: number) => Outcome,
  { now, fromAgo, toAgo, worker = DEFAULT_WORKER }: { now: number; fromAgo: number; toAgo: number; worker?: Worker },
): LedgerRows[] {
  const step = count <= 1 ? 0 : (fromAgo - toAgo) / (count - 1);
  return Array.from({ length: count }, (_, i) =>
    attemptEnding(queue, `${prefix}-${i}`, outcome(i), now - fromAgo + Math.round(i * step), { worker }),
  );
}

/** Writes the rows in batches, as the exporter does. */
export async function writeRows(orm: MikroORM, rows: readonly LedgerRows[]): Promise<void> {
  const writer = new LedgerWriter(orm);
  for (let i = 0; i < rows.length; i += 500) await writer.write(prepareBatch(rows.slice(i, i + 500)));
}

/** A queue within its budget: 200 jobs over the last 2 hours, none failed; one failure 2 days ago. */
export function healthyQueue(queue: string, now: number): LedgerRows[] {
  return [
    ...spread(queue, 'ok', 200, () => 'completed', { now, fromAgo: 2 * HOUR, toAgo: MINUTE }),
    attemptEnding(queue, 'old-failure', 'failed', now - 48 * HOUR),
  ];
}

/** A queue burning its budget fast: 100 jobs over the last hour, then 30 failed for good in the last 4 minutes. */
export function fastBurnQueue(queue: string, now: number): LedgerRows[] {
  return [
    ...spread(queue, 'ok', 100, () => 'completed', { now, fromAgo: 55 * MINUTE, toAgo: 6 * MINUTE }),
    ...spread(queue, 'bad', 30, () => 'failed', { now, fromAgo: 4 * MINUTE, toAgo: MINUTE }),
  ];
}

/**
 * A slow burn: 2000 jobs over the last 2 days, every 50th failed for good
 * (2%: a burn rate of 2 against 99%, under both pages, over the ticket).
 */
export function slowBurnQueue(queue: string, now: number): LedgerRows[] {
  return spread(queue, 'job', 2000, (i) => (i % 50 === 25 ? 'failed' : 'completed'), {
    now,
    fromAgo: 48 * HOUR,
    toAgo: MINUTE,
  });
}

/** Little traffic: 10 jobs over the last 2 hours and `failures` failed for good in the last 10 minutes. */
export function quietQueue(queue: string, now: number, failures: number): LedgerRows[] {
  return [
    ...spread(queue, 'ok', 10, () => 'completed', { now, fromAgo: 2 * HOUR, toAgo: 20 * MINUTE }),
    ...spread(queue, 'bad', failures, () => 'failed', { now, fromAgo: 10 * MINUTE, toAgo: 2 * MINUTE }),
  ];
}
