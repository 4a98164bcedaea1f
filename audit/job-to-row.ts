/**
 * The ledger row BullMQ's own record of a job gives, for reconciliation: what
 * BullMQ retains (state, attempts, timestamps, failure) without the spans'
 * trace ids. The numbers follow the spans' conventions, so the monotonic rule
 * treats a job the ledger already has as unchanged.
 */
import { recordId } from '../exporter/ledger-rows';
import type { RecordRow } from '../exporter/ledger-rows';
import { pgSafeText } from '../exporter/pg-safe';
import { readFiniteNumber, readProperty, readString } from '../src/safe-read';
import type { ErrorDetailsColumn } from '../schema/worker-job-record';

/**
 * The job states reconciliation reads, in the order it reads them: the order
 * jobs move through them, from waiting for their children to finished. A job
 * that moves on while reconciliation runs goes to a state read later, where it
 * is met again. Only a job leaving `active` backwards (retried, stalled,
 * rate-limited, or moved to wait for children) goes to a state already read:
 * one that does so during the run may escape it, and is met by the next run.
 */
export const RECONCILED_STATES = [
  'waiting-children',
  'delayed',
  'prioritized',
  'waiting',
  'active',
  'failed',
  'completed',
] as const;
export type ReconciledState = (typeof RECONCILED_STATES)[number];

export function jobToRecordRow(job: unknown, state: ReconciledState, queueName: string): RecordRow | undefined {
  const id = readProperty(job, 'id');
  const jobId = typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
  if (jobId === undefined) return undefined;
  const attemptsMade = readFiniteNumber(job, 'attemptsMade') ?? 0;
  const attemptsStarted = readFiniteNumber(job, 'attemptsStarted') ?? 0;
  const processedOn = readFiniteNumber(job, 'processedOn') ?? null;
  const finishedOn = readFiniteNumber(job, 'finishedOn') ?? null;
  const base = {
    id: recordId(pgSafeText(queueName), pgSafeText(jobId)),
    jobId: pgSafeText(jobId),
    queueName: pgSafeText(queueName),
    jobName: textOrNull(readString(job, 'name')),
    enqueuedAt: readFiniteNumber(job, 'timestamp') ?? null,
    attemptsStarted,
    resultSummary: null,
    metadata: null,
    traceId: null,
    spanId: null,
  };
  switch (state) {
    case 'completed':
      return {
        ...base,
        status: 'COMPLETED',
        final: true,
        attempt: Math.max(attemptsMade, 1),
        retryCount: Math.max(attemptsMade - 1, 0),
        outcome: 'completed',
        startedAt: processedOn,
        completedAt: finishedOn,
        durationMs: processedOn !== null && finishedOn !== null ? Math.max(finishedOn - processedOn, 0) : null,
        errorDetails: null,
      };
    case 'failed':
      return {
        ...base,
        status: 'FAILED',
        final: true,
        attempt: Math.max(attemptsMade, 1),
        retryCount: Math.max(attemptsMade - 1, 0),
        outcome: 'failed',
        startedAt: processedOn,
        completedAt: finishedOn,
        durationMs: processedOn !== null && finishedOn !== null ? Math.max(finishedOn - processedOn, 0) : null,
        errorDetails: failureOf(job),
      };
    default: {
      // Waiting to run (again). After a recorded failure it is a job being retried.
      const retrying = attemptsMade > 0 && state !== 'active';
      return {
        ...base,
        status: retrying ? 'FAILED' : 'PENDING',
        final: false,
        attempt: attemptsMade,
        retryCount: Math.max(attemptsMade - 1, 0),
        outcome: retrying ? 'retry' : null,
        startedAt: attemptsMade > 0 ? processedOn : null,
        // A retrying job's newest attempt ended, and the windows count it by that end (as they do the
        // span-written row of the same attempt). BullMQ keeps no end time for a retried attempt:
        // `finishedOn` is only set when a job finishes for good, and the delayed set's score is when
        // it runs next (and not on the Job). `processedOn`, the failed attempt's start, is the
        // nearest time it keeps: at most that attempt's duration before its end, never in the
        // future, and the same on every run, so reconciling again still changes nothing. The
        // enqueue time stands in if it is missing. The duration is not known: left null.
        completedAt: retrying ? (processedOn ?? base.enqueuedAt) : null,
        durationMs: null,
        errorDetails: retrying ? failureOf(job) : null,
      };
    }
  }
}

/** The failure BullMQ kept: `failedReason` and the newest stack trace, whose first line names the error. */
function failureOf(job: unknown): ErrorDetailsColumn | null {
  const message = readString(job, 'failedReason');
  const stacktrace = readProperty(job, 'stacktrace');
  const stack = Array.isArray(stacktrace)
    ? stacktrace.findLast((entry): entry is string => typeof entry === 'string')
    : undefined;
  if (message === undefined && stack === undefined) return null;
  const name = stack?.match(/^([A-Za-z_$][\w$]*)(?::|$)/)?.[1] ?? 'Error';
  const details = { name: pgSafeText(name), message: pgSafeText((message ?? '').slice(0, 1024)) };
  return stack === undefined ? details : { ...details, stack: pgSafeText(stack.slice(0, 4096)) };
}

function textOrNull(value: string | undefined): string | null {
  return value === undefined ? null : pgSafeText(value);
}
