/** Ledger rows built by hand, for tests of the write path without spans. */
import { createHash } from 'node:crypto';
import { recordId } from '../../exporter/ledger-rows';
import type { AttemptRow, LedgerRows, RecordRow } from '../../exporter/ledger-rows';

export const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);

export function pendingRow(queueName: string, jobId: string, enqueuedAt = T0): LedgerRows {
  return {
    record: {
      id: recordId(queueName, jobId),
      jobId,
      queueName,
      jobName: 'job',
      status: 'PENDING',
      startedAt: null,
      completedAt: null,
      durationMs: null,
      errorDetails: null,
      resultSummary: null,
      metadata: null,
      retryCount: 0,
      enqueuedAt,
      attempt: 0,
      attemptsStarted: 0,
      outcome: null,
      final: false,
      traceId: null,
      spanId: null,
    },
  };
}

type Outcome = AttemptRow['outcome'];
const STATUS: Record<Outcome, RecordRow['status']> = {
  completed: 'COMPLETED',
  failed: 'FAILED',
  retry: 'FAILED',
  delayed: 'PENDING',
  'rate-limited': 'PENDING',
  'waiting-children': 'PENDING',
  waiting: 'PENDING',
  stalled: 'PENDING',
};

/** The rows of one attempt: `attemptsStarted` defaults to `attempt`, times follow from it. */
export function attemptRows(
  queueName: string,
  jobId: string,
  attempt: number,
  outcome: Outcome,
  { attemptsStarted = attempt, enqueuedAt = T0, final = outcome === 'completed' || outcome === 'failed' } = {},
): LedgerRows {
  // Deterministic, so that separate processes build the same rows.
  const spanId = createHash('sha256')
    .update(`${queueName}\u0001${jobId}\u0001${attemptsStarted}\u0001${outcome}`)
    .digest('hex')
    .slice(0, 16);
  const startedAt = enqueuedAt + attemptsStarted * 1000;
  const failed = outcome === 'failed' || outcome === 'retry' || outcome === 'stalled';
  const errorDetails = failed ? { name: 'Error', message: `attempt ${attempt} ${outcome}` } : null;
  const base = {
    queueName,
    jobId,
    jobName: 'job',
    attempt,
    attemptsStarted,
    final,
    startedAt,
    durationMs: 100,
    errorDetails,
    spanId,
    traceId: 'a'.repeat(32),
  };
  return {
    record: {
      ...base,
      id: recordId(queueName, jobId),
      status: STATUS[outcome],
      completedAt: startedAt + 100,
      resultSummary: outcome === 'completed' ? { attempt } : null,
      metadata: null,
      retryCount: attempt - 1,
      enqueuedAt,
      outcome,
    },
    attempt: {
      ...base,
      outcome,
      endedAt: startedAt + 100,
      serviceName: 'svc',
      hostName: 'host',
      processPid: 42,
      workerName: null,
    },
  };
}
