/**
 * Reconciliation: fills the ledger from what BullMQ still retains, for jobs
 * whose spans never reached it (a worker killed before a flush, a process that
 * ran without the instrumentation). Rows go through the ledger's own upsert,
 * so a job the ledger already shows at the same or a newer attempt is left
 * unchanged, and running it again changes nothing.
 */
import type { MikroORM } from '@mikro-orm/core';
import { prepareBatch } from '../exporter/ledger-batch';
import type { LedgerRows } from '../exporter/ledger-rows';
import { LedgerWriter } from '../exporter/ledger-writer';
import { readFiniteNumber, readProperty } from '../src/safe-read';
import { jobToRecordRow, RECONCILED_STATES } from './job-to-row';
import type { ReconciledState } from './job-to-row';

/** What reconciliation needs of a BullMQ `Queue` (any backend). */
export interface ReconcilableQueue {
  readonly name: string;
  getJobs(types: ReconciledState[], start?: number, end?: number, asc?: boolean): Promise<unknown[]>;
  getJobCounts(...types: ReconciledState[]): Promise<Record<string, number>>;
}

export interface ReconcileOptions {
  /** The ledger's database. */
  readonly orm: MikroORM;
  /** The BullMQ queue to read, e.g. `new Queue(name, { connection })`. */
  readonly queue: ReconcilableQueue;
  /** Only jobs finished (or, for unfinished ones, added) at or after this time. @defaultValue all */
  readonly since?: Date;
  /** Jobs read and written at a time. @defaultValue `500` */
  readonly pageSize?: number;
  /** Called after each page, with the jobs read so far and BullMQ's count of jobs to read. */
  readonly onProgress?: (read: number, total: number) => void;
}

export interface ReconcileResult {
  /** Jobs BullMQ returned, in the states read. */
  readonly scanned: number;
  /** Jobs the ledger did not have. */
  readonly inserted: number;
  /** Jobs the ledger showed at an older state. */
  readonly updated: number;
  /** Jobs the ledger already showed as BullMQ does, or newer (outside `since`: not counted). */
  readonly unchanged: number;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(
      `bullmq-ledger: reconcile pageSize must be a whole number of at least 1, got ${String(options.pageSize)}`,
    );
  }
  const since = options.since?.getTime();
  const writer = new LedgerWriter(options.orm);
  const counts = await options.queue.getJobCounts(...RECONCILED_STATES);
  const total = RECONCILED_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
  let read = 0;
  let scanned = 0;
  let inserted = 0;
  let updated = 0;
  // States in the order jobs move through them (RECONCILED_STATES), each newest first: BullMQ adds
  // jobs at a state's newest end and takes, promotes or trims them at its oldest end, so jobs
  // leaving while it is read do not shift the offsets of the jobs not read yet. Jobs added
  // meanwhile shift them the other way, so a job may be read twice, which the upsert absorbs.
  for (const state of RECONCILED_STATES) {
    for (let start = 0; ; start += pageSize) {
      const jobs = await options.queue.getJobs([state], start, start + pageSize - 1, false);
      if (jobs.length === 0) break;
      read += jobs.length;
      const rows: LedgerRows[] = [];
      for (const job of jobs) {
        if (since !== undefined && activityTime(job) < since) continue;
        const record = jobToRecordRow(job, state, options.queue.name);
        if (record !== undefined) rows.push({ record });
      }
      scanned += rows.length;
      const changes = await writer.upsertRecords(prepareBatch(rows));
      inserted += changes.inserted;
      updated += changes.updated;
      options.onProgress?.(read, Math.max(total, read));
      if (jobs.length < pageSize) break;
    }
  }
  return { scanned, inserted, updated, unchanged: scanned - inserted - updated };
}

/** When the job last did something BullMQ recorded. */
function activityTime(job: unknown): number {
  return (
    readFiniteNumber(job, 'finishedOn') ??
    readFiniteNumber(job, 'processedOn') ??
    readFiniteNumber(job, 'timestamp') ??
    0
  );
}

/** A BullMQ `Queue` (or anything with the same methods), checked. */
export function isReconcilableQueue(value: unknown): value is ReconcilableQueue {
  return (
    typeof readProperty(value, 'name') === 'string' &&
    typeof readProperty(value, 'getJobs') === 'function' &&
    typeof readProperty(value, 'getJobCounts') === 'function'
  );
}
