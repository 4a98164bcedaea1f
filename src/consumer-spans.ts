/**
 * One CONSUMER span per job attempt. The wrappers report what they see (the
 * attempt's start, each move BullMQ begins, the error handed to its failure
 * handling) to {@link ConsumerSpans}; the span ends once `processJob` settles,
 * i.e. after BullMQ has recorded (or failed to record) the attempt.
 *
 * Which move BullMQ recorded is deduced (`recordedMove`) rather than awaited:
 * each extra promise per attempt costs throughput.
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { Attributes, Context, DiagLogger, Span, SpanContext, Tracer } from '@opentelemetry/api';
import * as attr from './attributes';
import { classifyAttempt, recordedMove } from './attempt-outcome';
import type { AttemptClassification, BegunMove } from './attempt-outcome';
import type { AttemptMetrics } from './attempt-metrics';
import { jobIdOf, queueNameOf } from './bullmq-shapes';
import { errorLimits } from './config';
import type { ResolvedConfig } from './config';
import { errorToDetails } from './error-details';
import { markJobSpanStart } from './ledger-span-mark';
import { jobDataAttributes, runJsonHook } from './opt-in-attributes';
import { extractProducerContext } from './propagation';
import { readFiniteNumber, readProperty, readString } from './safe-read';
import { recordErrorDetails } from './span-error';
import type { BullMQJob } from './types';

/** What is known about one running attempt. Keyed by the Job instance: BullMQ creates one per attempt. */
export interface Attempt {
  readonly span: Span;
  readonly job: BullMQJob;
  readonly startedAt: number;
  /** The context the processor runs in: the span active, the producer's context as parent or not at all. */
  readonly context: Context;
  readonly attemptsMadeAtStart: number;
  /** The queue's name, as the span names it. */
  readonly queue: string;
  /** The last move BullMQ began while the attempt was unrecorded: the recorded one, if any succeeded. */
  lastMove?: BegunMove;
  /** The last value handed to BullMQ's failure handling. */
  failure?: { readonly thrown: unknown };
}

export interface ConsumerSpansDeps {
  readonly tracer: () => Tracer;
  /** Where every ended attempt is counted, recorded span or not. */
  readonly metrics: () => AttemptMetrics | undefined;
  readonly config: () => ResolvedConfig;
  readonly diag: DiagLogger;
}

const STALLED_LIMIT_FAILURE = { name: 'Error', message: 'job stalled more than allowable limit' } as const;
const NOT_RECORDED = { type: attr.ERROR_TYPE_OTHER, message: 'the worker was closing or paused' } as const;

export class ConsumerSpans {
  private readonly attempts = new WeakMap<object, Attempt>();

  constructor(private readonly deps: ConsumerSpansDeps) {}

  /** Starts the span of an attempt that `Worker.processJob` is about to run. */
  start(worker: unknown, job: BullMQJob): Attempt {
    const config = this.deps.config();
    const producer = extractProducerContext(job.opts);
    const parent =
      producer !== undefined && config.producerContext === 'parent'
        ? trace.setSpanContext(ROOT_CONTEXT, producer)
        : ROOT_CONTEXT;
    const link = config.producerContext === 'link' ? producer : undefined;
    const startedAt = performance.now();
    const queue = queueNameOf(worker) ?? job.queueName;
    const span = this.startSpan(worker, job, queue, parent, link, startedAt);
    try {
      if (span.isRecording() && hasOptIn(config)) span.setAttributes(this.optInAttributes(job, config));
    } catch (err) {
      span.end();
      throw err;
    }
    const attempt: Attempt = {
      span,
      job,
      startedAt,
      context: trace.setSpan(parent, span),
      attemptsMadeAtStart: job.attemptsMade,
      queue,
    };
    this.attempts.set(job, attempt);
    return attempt;
  }

  /** The attempt `job` belongs to, while it runs. */
  find(job: unknown): Attempt | undefined {
    return typeof job === 'object' && job !== null ? this.attempts.get(job) : undefined;
  }

  /** Notes a move BullMQ is about to make for the attempt `job` belongs to. */
  moveBegun(job: unknown, move: BegunMove): void {
    const attempt = this.find(job);
    if (attempt === undefined) return;
    if (attempt.job.attemptsMade === attempt.attemptsMadeAtStart) attempt.lastMove = move;
    // The error BullMQ tries to record is also what explains an attempt it could not record.
    if (move.kind === 'failed') attempt.failure = { thrown: move.error };
  }

  /** Notes the value BullMQ's failure handling was given for the attempt `job` belongs to. */
  failureHandled(job: unknown, thrown: unknown): void {
    const attempt = this.find(job);
    if (attempt !== undefined) attempt.failure = { thrown };
  }

  /** Ends the span, once BullMQ is done with the attempt. */
  finish(attempt: Attempt): void {
    this.attempts.delete(attempt.job);
    const endedAt = performance.now();
    const { span, job } = attempt;
    try {
      const recorded = recordedMove({
        lastMove: attempt.lastMove,
        attemptsMadeAtStart: attempt.attemptsMadeAtStart,
        attemptsMadeAtEnd: job.attemptsMade,
        finishedOnAtEnd: job.finishedOn,
      });
      const classification = classifyAttempt({ recorded, failure: attempt.failure });
      this.setOutcome(span, attempt.queue, job, classification, endedAt - attempt.startedAt);
      if (recorded?.kind === 'completed' && span.isRecording()) {
        this.recordResultSummary(span, recorded.result, job);
      }
    } finally {
      span.end(performance.timeOrigin + endedAt);
    }
  }

  /**
   * BullMQ 5 before deferred failures failed over-stalled jobs inside its
   * stalled checker, without running `processJob`; each gets a zero-length span
   * so that the final failure is not missing.
   */
  recordStalledFailure(worker: unknown, job: BullMQJob): void {
    const now = performance.now();
    const queue = queueNameOf(worker) ?? job.queueName;
    const span = this.startSpan(worker, job, queue, ROOT_CONTEXT, undefined, now);
    try {
      this.setOutcome(
        span,
        queue,
        job,
        { outcome: 'failed', final: true, isFailure: true, cause: { thrown: STALLED_LIMIT_FAILURE } },
        0,
      );
    } finally {
      span.end(performance.timeOrigin + now);
    }
  }

  private startSpan(
    worker: unknown,
    job: BullMQJob,
    queue: string,
    parent: Context,
    link: SpanContext | undefined,
    startedAt: number,
  ): Span {
    return this.deps.tracer().startSpan(
      `${attr.OPERATION_PROCESS} ${queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: startAttributes(worker, job, queue),
        startTime: performance.timeOrigin + startedAt,
        // Only when there is one: an empty array per attempt is garbage the SDK keeps alive.
        ...(link === undefined ? {} : { links: [{ context: link }] }),
      },
      markJobSpanStart(parent),
    );
  }

  private setOutcome(
    span: Span,
    queue: string,
    job: BullMQJob,
    classification: AttemptClassification,
    durationMs: number,
  ): void {
    let errorType: string | undefined;
    try {
      span.setAttributes({
        [attr.ATTR_ATTEMPT_OUTCOME]: classification.outcome,
        [attr.ATTR_ATTEMPT_FINAL]: classification.final,
        [attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]: job.attemptsMade,
        [attr.ATTR_ATTEMPT_DURATION_MS]: durationMs,
      });
      if (!classification.isFailure) return;
      const details =
        classification.cause === undefined
          ? NOT_RECORDED
          : errorToDetails(classification.cause.thrown, errorLimits(this.deps.config()));
      errorType = details.type;
      recordErrorDetails(span, details, classification.outcome === 'stalled' ? 'attempt not recorded by BullMQ: ' : '');
    } finally {
      this.recordMetrics(queue, classification, durationMs, errorType);
    }
  }

  private recordMetrics(
    queue: string,
    classification: AttemptClassification,
    durationMs: number,
    errorType: string | undefined,
  ): void {
    try {
      this.deps.metrics()?.record({
        queue,
        outcome: classification.outcome,
        final: classification.final,
        durationMs,
        errorType: classification.isFailure ? (errorType ?? attr.ERROR_TYPE_OTHER) : undefined,
      });
    } catch (err) {
      this.deps.diag.error('bullmq-ledger: recording attempt metrics failed', err);
    }
  }

  private optInAttributes(job: BullMQJob, config: ResolvedConfig): Attributes {
    const attributes = jobDataAttributes(job.data, config.jobDataAttributes, config.maxAttributeLength);
    const hook = config.metadata;
    const metadata = runJsonHook('metadata', hook && (() => hook(job)), config.maxAttributeLength, this.deps.diag);
    if (metadata !== undefined) attributes[attr.ATTR_JOB_METADATA] = metadata;
    return attributes;
  }

  private recordResultSummary(span: Span, result: unknown, job: BullMQJob): void {
    const config = this.deps.config();
    const hook = config.resultSummary;
    if (hook === undefined) return;
    const summary = runJsonHook('resultSummary', () => hook(result, job), config.maxAttributeLength, this.deps.diag);
    if (summary !== undefined) span.setAttribute(attr.ATTR_JOB_RESULT_SUMMARY, summary);
  }
}

function startAttributes(worker: unknown, job: BullMQJob, queue: string): Attributes {
  const attributes = attr.messagingAttributes(attr.OPERATION_PROCESS, queue);
  attributes[attr.ATTR_BULLMQ_JOB_NAME] = job.name;
  attributes[attr.ATTR_ATTEMPT_NUMBER] = job.attemptsMade + 1;
  attributes[attr.ATTR_JOB_ATTEMPTS_MAX] = maxAttempts(job);
  const id = jobIdOf(job);
  if (id !== undefined) attributes[attr.ATTR_MESSAGING_MESSAGE_ID] = id;
  const started = readFiniteNumber(job, 'attemptsStarted');
  if (started !== undefined) attributes[attr.ATTR_JOB_ATTEMPTS_STARTED] = started;
  const enqueuedAt = readFiniteNumber(job, 'timestamp');
  if (enqueuedAt !== undefined) {
    attributes[attr.ATTR_JOB_ENQUEUED_AT] = enqueuedAt;
    const processedOn = readFiniteNumber(job, 'processedOn');
    if (processedOn !== undefined) attributes[attr.ATTR_JOB_QUEUE_WAIT_MS] = Math.max(processedOn - enqueuedAt, 0);
  }
  const parentKey = readString(job, 'parentKey');
  if (parentKey !== undefined) attributes[attr.ATTR_JOB_PARENT_KEY] = parentKey;
  const workerName = readString(readProperty(worker, 'opts'), 'name');
  if (workerName !== undefined) attributes[attr.ATTR_BULLMQ_WORKER_NAME] = workerName;
  return attributes;
}

function hasOptIn(config: ResolvedConfig): boolean {
  return config.jobDataAttributes.length > 0 || config.metadata !== undefined;
}

/** `opts.attempts` is the total number of runs; BullMQ treats 0 or absent as 1. */
function maxAttempts(job: BullMQJob): number {
  const attempts = readFiniteNumber(job.opts, 'attempts');
  return attempts !== undefined && attempts >= 1 ? Math.floor(attempts) : 1;
}
