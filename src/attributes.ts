import type { Attributes } from '@opentelemetry/api';

/**
 * Every span attribute name and fixed value this package emits, in one place.
 *
 * Messaging names come from the OpenTelemetry semantic conventions 1.45. They
 * live in the incubating entry point, whose README asks instrumentations to
 * copy them rather than import them at runtime. `bullmq.*` names are BullMQ's
 * own (its `TelemetryAttributes` enum) so our spans read like `bullmq-otel`'s.
 * Everything the conventions and BullMQ do not cover is under `bullmq_ledger.*`.
 */

// OpenTelemetry semantic conventions (messaging, error).
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_ERROR_MESSAGE = 'error.message';

// BullMQ's own telemetry attribute names.
export const ATTR_BULLMQ_JOB_NAME = 'bullmq.job.name';
export const ATTR_BULLMQ_JOB_ATTEMPTS_MADE = 'bullmq.job.attempts.made';
export const ATTR_BULLMQ_WORKER_NAME = 'bullmq.worker.name';

// This package's attributes.
export const ATTR_ATTEMPT_NUMBER = 'bullmq_ledger.attempt.number';
export const ATTR_ATTEMPT_OUTCOME = 'bullmq_ledger.attempt.outcome';
export const ATTR_ATTEMPT_FINAL = 'bullmq_ledger.attempt.final';
export const ATTR_ATTEMPT_DURATION_MS = 'bullmq_ledger.attempt.duration_ms';
export const ATTR_JOB_ATTEMPTS_MAX = 'bullmq_ledger.job.attempts.max';
export const ATTR_JOB_ATTEMPTS_STARTED = 'bullmq_ledger.job.attempts.started';
export const ATTR_JOB_ENQUEUED_AT = 'bullmq_ledger.job.enqueued_at';
export const ATTR_JOB_QUEUE_WAIT_MS = 'bullmq_ledger.job.queue_wait_ms';
export const ATTR_JOB_PARENT_KEY = 'bullmq_ledger.job.parent_key';
export const ATTR_JOB_METADATA = 'bullmq_ledger.job.metadata';
export const ATTR_JOB_RESULT_SUMMARY = 'bullmq_ledger.job.result_summary';
export const ATTR_ERROR_STACK = 'bullmq_ledger.error.stack';
/** Prefix of the allow-listed `job.data` keys: `bullmq_ledger.job.data.<key>`. */
export const ATTR_JOB_DATA_PREFIX = 'bullmq_ledger.job.data.';

// Fixed values.
export const MESSAGING_SYSTEM_BULLMQ = 'bullmq';
export const OPERATION_PROCESS = 'process';
export const OPERATION_SEND = 'send';
export const OPERATION_CREATE = 'create';
/** `error.type` when a thrown value has no usable class name. */
export const ERROR_TYPE_OTHER = '_OTHER';

/** The attributes every span of this package starts with. */
export function messagingAttributes(operation: string, queue: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_BULLMQ,
    [ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [ATTR_MESSAGING_OPERATION_NAME]: operation,
  };
  if (queue !== undefined) attributes[ATTR_MESSAGING_DESTINATION_NAME] = queue;
  return attributes;
}

/**
 * What happened to one attempt, as BullMQ recorded it.
 *
 * - `completed`: moved to completed.
 * - `retry`: moved to failed-with-retry (delayed by backoff, or back to wait).
 * - `failed`: failed for good (attempts exhausted, `UnrecoverableError`,
 *   backoff -1, `maxStartedAttempts`, or stalled too often).
 * - `delayed`, `rate-limited`, `waiting-children`, `waiting`: the processor
 *   threw one of BullMQ's control-flow errors; not a failure, the job runs again.
 * - `stalled`: BullMQ did not record this attempt (the job's lock was lost,
 *   the worker closed, or BullMQ could not move the job); the stalled checker
 *   moves the job back to wait or fails it.
 */
export const ATTEMPT_OUTCOMES = [
  'completed',
  'retry',
  'failed',
  'delayed',
  'rate-limited',
  'waiting-children',
  'waiting',
  'stalled',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** The outcomes that are failures (status ERROR): what metrics, worker stats and alerts count as failed attempts. */
export const FAILED_ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['retry', 'failed', 'stalled'];
