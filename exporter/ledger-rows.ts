/**
 * The pure mapping from a finished span of the instrumentation to ledger rows.
 * Rows are plain JSON (times in epoch milliseconds) so that they can wait in
 * memory, in the spool file, and be written in batches in any order.
 */
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';
import { SpanKind } from '@opentelemetry/api';
import * as attr from '../src/attributes';
import type { AttemptOutcome } from '../src/attributes';
import { PACKAGE_NAME } from '../src/version';
import type { ErrorDetailsColumn, JobStatus } from '../schema/worker-job-record';
import type { FinishedSpan } from './otel-sdk-contract';
import { pgSafeJson, pgSafeText } from './pg-safe';

/** A `worker_job_records` row: the job as of one span. */
export interface RecordRow {
  readonly id: string;
  readonly jobId: string;
  readonly queueName: string;
  readonly jobName: string | null;
  readonly status: JobStatus;
  readonly startedAt: number | null;
  readonly completedAt: number | null;
  readonly durationMs: number | null;
  readonly errorDetails: ErrorDetailsColumn | null;
  readonly resultSummary: unknown;
  readonly metadata: unknown;
  readonly retryCount: number;
  readonly enqueuedAt: number | null;
  readonly attempt: number;
  readonly attemptsStarted: number;
  readonly outcome: AttemptOutcome | null;
  readonly final: boolean;
  readonly traceId: string | null;
  readonly spanId: string | null;
}

/** A `worker_job_attempts` row: one attempt, never updated. */
export interface AttemptRow {
  readonly spanId: string;
  readonly traceId: string;
  readonly queueName: string;
  readonly jobId: string;
  readonly jobName: string | null;
  readonly attempt: number;
  readonly attemptsStarted: number;
  readonly outcome: AttemptOutcome;
  readonly final: boolean;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  readonly errorDetails: ErrorDetailsColumn | null;
  readonly serviceName: string | null;
  readonly hostName: string | null;
  readonly processPid: number | null;
  readonly workerName: string | null;
}

/** What one span contributes: the job's row, and for an attempt its history row. */
export interface LedgerRows {
  readonly record: RecordRow;
  readonly attempt?: AttemptRow;
}

/** Who ran the attempt, when the span's resource does not say (the processor runs in the worker's process). */
export interface WorkerIdentity {
  readonly hostName: string | null;
  readonly processPid: number | null;
}

const STATUS_BY_OUTCOME: Readonly<Record<AttemptOutcome, JobStatus>> = {
  completed: 'COMPLETED',
  failed: 'FAILED',
  retry: 'FAILED',
  delayed: 'PENDING',
  'rate-limited': 'PENDING',
  'waiting-children': 'PENDING',
  waiting: 'PENDING',
  stalled: 'PENDING',
};

/** The ledger's key of a job: BullMQ forbids `:` in queue names, so this is unambiguous. */
export function recordId(queueName: string, jobId: string): string {
  return `${queueName}:${jobId}`;
}

/**
 * The rows a finished span gives, or undefined for a span the ledger does not
 * keep (another library's, a batch `send`, a job span without a job id).
 */
export function spanToLedgerRows(span: FinishedSpan, fallback: WorkerIdentity): LedgerRows | undefined {
  if (span.instrumentationScope.name !== PACKAGE_NAME) return undefined;
  const a = span.attributes;
  const queueName = text(a[attr.ATTR_MESSAGING_DESTINATION_NAME]);
  const jobId = text(a[attr.ATTR_MESSAGING_MESSAGE_ID]);
  // BullMQ has no empty queue names or job ids: an empty one is unknown, not a key.
  if (queueName === null || jobId === null || queueName === '' || jobId === '') return undefined;
  const operation = a[attr.ATTR_MESSAGING_OPERATION_TYPE];
  if (span.kind === SpanKind.CONSUMER && operation === attr.OPERATION_PROCESS) {
    return attemptRows(span, queueName, jobId, fallback);
  }
  if (span.kind === SpanKind.PRODUCER && (operation === attr.OPERATION_SEND || operation === attr.OPERATION_CREATE)) {
    return { record: enqueuedRecord(span, queueName, jobId) };
  }
  return undefined;
}

function attemptRows(
  span: FinishedSpan,
  queueName: string,
  jobId: string,
  fallback: WorkerIdentity,
): LedgerRows | undefined {
  const a = span.attributes;
  const outcome = attemptOutcome(a[attr.ATTR_ATTEMPT_OUTCOME]);
  if (outcome === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  const startedAt = hrTimeToMillis(span.startTime);
  const endedAt = hrTimeToMillis(span.endTime);
  const durationMs = Math.max(finite(a[attr.ATTR_ATTEMPT_DURATION_MS]) ?? endedAt - startedAt, 0);
  const attempt = Math.max(integer(a[attr.ATTR_ATTEMPT_NUMBER]) ?? 1, 1);
  const attemptsStarted = Math.max(integer(a[attr.ATTR_JOB_ATTEMPTS_STARTED]) ?? 0, 0);
  const final = a[attr.ATTR_ATTEMPT_FINAL] === true;
  const errorDetails = errorDetailsOf(a);
  const jobName = text(a[attr.ATTR_BULLMQ_JOB_NAME]);
  const resource = span.resource.attributes;
  return {
    record: {
      id: recordId(queueName, jobId),
      jobId,
      queueName,
      jobName,
      status: STATUS_BY_OUTCOME[outcome],
      startedAt,
      completedAt: endedAt,
      durationMs,
      errorDetails,
      resultSummary: jsonOf(a[attr.ATTR_JOB_RESULT_SUMMARY]),
      metadata: jsonOf(a[attr.ATTR_JOB_METADATA]),
      retryCount: attempt - 1,
      enqueuedAt: finite(a[attr.ATTR_JOB_ENQUEUED_AT]),
      attempt,
      attemptsStarted,
      outcome,
      final,
      traceId,
      spanId,
    },
    attempt: {
      spanId,
      traceId,
      queueName,
      jobId,
      jobName,
      attempt,
      attemptsStarted,
      outcome,
      final,
      startedAt,
      endedAt,
      durationMs,
      errorDetails,
      serviceName: text(resource['service.name']),
      hostName: text(resource['host.name']) ?? fallback.hostName,
      processPid: integer(resource['process.pid']) ?? fallback.processPid,
      workerName: text(a[attr.ATTR_BULLMQ_WORKER_NAME]),
    },
  };
}

/** A job added through an instrumented producer: PENDING until an attempt says otherwise. */
function enqueuedRecord(span: FinishedSpan, queueName: string, jobId: string): RecordRow {
  const a = span.attributes;
  return {
    id: recordId(queueName, jobId),
    jobId,
    queueName,
    jobName: text(a[attr.ATTR_BULLMQ_JOB_NAME]),
    status: 'PENDING',
    startedAt: null,
    completedAt: null,
    durationMs: null,
    errorDetails: null,
    resultSummary: null,
    metadata: null,
    retryCount: 0,
    enqueuedAt: finite(a[attr.ATTR_JOB_ENQUEUED_AT]) ?? hrTimeToMillis(span.endTime),
    attempt: 0,
    attemptsStarted: 0,
    outcome: null,
    final: false,
    traceId: null,
    spanId: null,
  };
}

function errorDetailsOf(a: Attributes): ErrorDetailsColumn | null {
  const name = text(a[attr.ATTR_ERROR_TYPE]);
  if (name === null) return null;
  const message = text(a[attr.ATTR_ERROR_MESSAGE]) ?? '';
  const stack = text(a[attr.ATTR_ERROR_STACK]);
  return stack === null ? { name, message } : { name, message, stack };
}

function attemptOutcome(value: AttributeValue | undefined): AttemptOutcome | undefined {
  return attr.ATTEMPT_OUTCOMES.find((outcome) => outcome === value);
}

export function hrTimeToMillis([seconds, nanos]: HrTime): number {
  return seconds * 1e3 + nanos / 1e6;
}

function text(value: AttributeValue | undefined): string | null {
  return typeof value === 'string' ? pgSafeText(value) : null;
}

function finite(value: AttributeValue | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function integer(value: AttributeValue | undefined): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : null;
}

/** The instrumentation stores opt-in data as JSON strings; the ledger stores it as jsonb. */
function jsonOf(value: AttributeValue | undefined): unknown {
  if (typeof value !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return pgSafeJson(parsed);
  } catch {
    return pgSafeText(value);
  }
}
