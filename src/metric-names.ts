/**
 * Every metric this package records, with its unit and the attribute keys it
 * may carry, in one place (the alert rules in alerts/ are written against
 * these names as Prometheus exporters render them).
 *
 * Never a job id, trace id, attempt number, error message or pid as an
 * attribute: worker identity comes from the resource.
 */

/** Messaging semantic conventions 1.45: the duration of processing one message (one attempt). */
export const METRIC_PROCESS_DURATION = 'messaging.process.duration';
/** Messaging semantic conventions 1.45: messages a consumer received (one per attempt). */
export const METRIC_CONSUMED_MESSAGES = 'messaging.client.consumed.messages';
/** Jobs reaching a final state, each counted once however many attempts it took: the SLI. */
export const METRIC_JOB_OUTCOMES = 'bullmq_ledger.job.outcomes';
/** Attempts by outcome, for retry churn. */
export const METRIC_ATTEMPT_OUTCOMES = 'bullmq_ledger.attempt.outcomes';
/** The ledger pipeline's own health: rows written, writes retried, rows spilled to the spool or dropped. */
export const METRIC_EXPORTER_RECORDS = 'bullmq_ledger.exporter.records';
/** Jobs waiting in a queue (observed from `Queue` handles given to `observeQueues`). */
export const METRIC_QUEUE_WAITING = 'bullmq_ledger.queue.waiting';
/** Age of the oldest waiting job of a queue, in seconds (0 when none waits); of prioritized jobs, the next to run counts. */
export const METRIC_QUEUE_OLDEST_WAITING_AGE = 'bullmq_ledger.queue.oldest_waiting_age';
/** 1 while a queue is paused, 0 otherwise: a paused queue's waiting jobs are not a missing consumer. */
export const METRIC_QUEUE_PAUSED = 'bullmq_ledger.queue.paused';

/** `completed` or `failed`, on METRIC_JOB_OUTCOMES. */
export const ATTR_JOB_OUTCOME = 'bullmq_ledger.job.outcome';
/** `written`, `retried`, `spilled` or `dropped`, on METRIC_EXPORTER_RECORDS. */
export const ATTR_EXPORTER_RESULT = 'bullmq_ledger.exporter.result';

/** The semantic conventions' bucket advice for messaging durations, in seconds. */
export const PROCESS_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
