/**
 * The monotonic rule of `worker_job_records`, shared by the in-batch merge
 * (here) and the SQL upsert (ledger-sql.ts), which must agree:
 *
 * - A row without an attempt (`rank` 0: PENDING, from a producer span) is
 *   insert-if-absent: it never replaces a stored row, only fills in what that
 *   row does not know (job name, enqueue time). A late producer span never
 *   overwrites a finished job, and a job id added again (BullMQ ignores the
 *   add, but the span carries a timestamp of its own) never resets one.
 * - A row with an attempt always replaces a row without one.
 * - Between two rows with attempts the newer wins, compared on
 *   (enqueued_at, attempts_started, attempt, rank):
 *   - `enqueued_at` tells two incarnations of a job id apart (a job re-added
 *     after removal); when either side does not know it, it does not decide.
 *   - `attempts_started` is BullMQ's own count of activations: it orders
 *     attempts whatever clock or process they ran on, including overlapping
 *     attempts of a stalled job.
 *   - `attempt`, then `rank`: 1 for an attempt, 2 for a final attempt, so a
 *     finished state wins over an unfinished one of the same attempt.
 *
 * Reconciliation's rows (upsertRecordsSql with `fromBullMQ`) carry the stored
 * jobs' own enqueue times, so there a row without an attempt may replace an
 * older incarnation; it writes one row per job, so the in-batch merge does not
 * decide between its rows.
 */
import type { RecordRow } from './ledger-rows';

export function rank(row: Pick<RecordRow, 'final' | 'attemptsStarted' | 'attempt'>): number {
  if (row.final) return 2;
  return row.attemptsStarted > 0 || row.attempt > 0 ? 1 : 0;
}

/** Whether `incoming` should replace `stored`. */
export function isNewer(incoming: RecordRow, stored: RecordRow): boolean {
  if (rank(incoming) === 0) return false;
  if (rank(stored) === 0) return true;
  const incomingEnqueued = incoming.enqueuedAt ?? stored.enqueuedAt ?? 0;
  const storedEnqueued = stored.enqueuedAt ?? incoming.enqueuedAt ?? 0;
  const a = [incomingEnqueued, incoming.attemptsStarted, incoming.attempt, rank(incoming)];
  const b = [storedEnqueued, stored.attemptsStarted, stored.attempt, rank(stored)];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return false;
}

/**
 * The stored row after `incoming` arrives: the newer row's attempt columns,
 * the earliest start of this incarnation, and whatever either side knew of
 * the job's name and enqueue time.
 */
export function mergeRecord(stored: RecordRow, incoming: RecordRow): RecordRow {
  const newer = isNewer(incoming, stored);
  const winner = newer ? incoming : stored;
  const loser = newer ? stored : incoming;
  const newIncarnation =
    incoming.enqueuedAt !== null && stored.enqueuedAt !== null && incoming.enqueuedAt !== stored.enqueuedAt;
  return {
    ...winner,
    jobName: winner.jobName ?? loser.jobName,
    enqueuedAt: winner.enqueuedAt ?? loser.enqueuedAt,
    startedAt: newIncarnation ? winner.startedAt : earliest(winner.startedAt, loser.startedAt),
  };
}

function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
