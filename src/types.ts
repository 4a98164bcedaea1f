import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { Job } from 'bullmq';

/** The job as the hooks receive it: BullMQ's own `Job`. */
export type BullMQJob = Job<unknown, unknown, string>;

/**
 * Options of {@link BullMQInstrumentation}. Every option is optional; the
 * defaults keep job payloads and results out of spans.
 */
export interface BullMQInstrumentationConfig extends InstrumentationConfig {
  /**
   * How a job's process span relates to the context its producer injected:
   * `'link'` starts a new trace per attempt with a span link to the producer
   * (what the messaging conventions recommend, since retries run long after
   * the enqueue); `'parent'` makes the process span a child of the producer.
   * @defaultValue `'link'`
   */
  producerContext?: 'link' | 'parent';

  /**
   * Top-level `job.data` keys copied onto the process span as
   * `bullmq_ledger.job.data.<key>`. Strings are capped at
   * `maxAttributeLength`; objects are stored as capped JSON.
   * @defaultValue `[]` (nothing from `job.data`)
   */
  jobDataAttributes?: readonly string[];

  /**
   * Returns extra metadata to keep with each attempt, stored as capped JSON in
   * `bullmq_ledger.job.metadata`. Called once at the start of each attempt. A
   * hook that throws is logged through `diag` and ignored.
   * @defaultValue none
   */
  metadata?: (job: BullMQJob) => unknown;

  /**
   * Summarises a completed attempt's result, stored as capped JSON in
   * `bullmq_ledger.job.result_summary`. Receives the processor's own return
   * value (not `job.returnvalue`, which turns falsy results into undefined). A
   * hook that throws is logged through `diag` and ignored.
   * @defaultValue none (no result is kept)
   */
  resultSummary?: (result: unknown, job: BullMQJob) => unknown;

  /**
   * Cap, in characters, of each string or JSON attribute taken from user
   * data: allow-listed `job.data` values, `metadata`, `resultSummary`.
   * @defaultValue `2048`
   */
  maxAttributeLength?: number;

  /**
   * Cap, in characters, of an error's message (`error.message` and the span
   * status).
   * @defaultValue `1024`
   */
  maxErrorMessageLength?: number;

  /**
   * Cap, in characters, of an error's stack (`bullmq_ledger.error.stack` and
   * the exception event).
   * @defaultValue `4096`
   */
  maxErrorStackLength?: number;
}
