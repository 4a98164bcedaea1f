/**
 * One CONSUMER span per job attempt. The wrappers report what they see (the
 * attempt's start, each move BullMQ begins, the error handed to its failure
 * handling) to {@link ConsumerSpans}; the span ends once `processJob` settles,
 * i.e. after BullMQ has recorded (or failed to record) the attempt.
 *
 * Which move BullMQ recorded is deduced (`recordedMove`) rather than awaited:
 * each extra promise per attempt costs throughput.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, DiagLogger, Span, SpanOptions, Tracer } from '@opentelemetry/api';
import * as attr from './attributes';
import { classifyAttempt, recordedMove } from './attempt-outcome';
import type { AttemptClassification, BegunMove } from './attempt-outcome';
import { jobIdOf } from './bullmq-shapes';
import type { ResolvedConfig } from './config';
import { errorToDetails } from './error-details';
import type { ErrorDetails } from './error-details';
import { jobDataAttributes, runJsonHook } from './opt-in-attributes';
import { extractProducerContext } from './propagation';
import { readFiniteNumber, readProperty, readString } from './safe-read';
import type { LedgerJob } from './types';

/** What is known about one running attempt. Keyed by the Job instance: BullMQ creates one per attempt. */
export interface Attempt {
  readonly span: Span;
  readonly job: LedgerJob;
  readonly startedAt: number;
  /** The context the processor runs in: the span active, the producer's context as parent or not at all. */
  readonly context: Context;
  readonly attemptsMadeAtStart: number;
  /** The last move BullMQ began while the attempt was unrecorded: the recorded one, if any succeeded. */
  lastMove?: BegunMove;
  /** The last value handed to BullMQ's failure handling. */
  failure?: { readonly thrown: unknown };
}


export interface ConsumerSpansDeps {
  readonly tracer: () => Tracer;
  readonly config: () => ResolvedConfig;
  readonly diag: DiagLogger;
}

const STALLED_LIMIT_MESSAGE = 'job stalled more than allowable limit';

export class ConsumerSpans {
  private readonly attempts = new WeakMap<object, Attempt>();

  constructor(private readonly deps: ConsumerSpansDeps) {}

  /** Starts the span of an attempt that `Worker.processJob` is about to run. */
  start(worker: unknown, job: LedgerJob): Attempt {
    const config = this.deps.config();
    const queue = readString(worker, 'name') ?? job.queueName;
    const producer = extractProducerContext(job.opts);
    const parent =
      producer !== undefined && config.producerContext === 'parent'
        ? trace.setSpanContext(ROOT_CONTEXT, producer)
        : ROOT_CONTEXT;
    const startedAt = performance.now();
    const options: SpanOptions = {
      kind: SpanKind.CONSUMER,
      attributes: this.startAttributes(worker, job, queue),
      startTime: performance.timeOrigin + startedAt,
    };
    // Only when there is one: an empty array per attempt is garbage the SDK keeps alive.
    if (producer !== undefined && config.producerContext === 'link') options.links = [{ context: producer }];
    const span = this.deps.tracer().startSpan(
      `${attr.OPERATION_PROCESS} ${queue}`,
      options,
      parent,
    );
    if (hasOptIn(config) && span.isRecording()) span.setAttributes(this.optInAttributes(job, config));
    const attempt: Attempt = {
      span,
      job,
      startedAt,
      context: trace.setSpan(parent, span),
      attemptsMadeAtStart: job.attemptsMade,
    };
    this.attempts.set(job, attempt);
    return attempt;
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

  /** The attempt `job` belongs to, while it runs. */
  find(job: unknown): Attempt | undefined {
    return typeof job === 'object' && job !== null ? this.attempts.get(job) : undefined;
  }

  /** Ends the span, once BullMQ is done with the attempt. */
  finish(attempt: Attempt): void {
    this.attempts.delete(attempt.job);
    const endedAt = performance.now();
    const { span, job } = attempt;
    const recorded = recordedMove({
      lastMove: attempt.lastMove,
      attemptsMadeAtStart: attempt.attemptsMadeAtStart,
      attemptsMadeAtEnd: job.attemptsMade,
      finishedOnAtEnd: job.finishedOn,
    });
    const classification = classifyAttempt({ recorded, failure: attempt.failure });
    span.setAttributes({
      [attr.ATTR_ATTEMPT_OUTCOME]: classification.outcome,
      [attr.ATTR_ATTEMPT_FINAL]: classification.final,
      [attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]: job.attemptsMade,
      [attr.ATTR_ATTEMPT_DURATION_MS]: endedAt - attempt.startedAt,
    });
    if (recorded?.kind === 'completed' && this.deps.config().resultSummary !== undefined) {
      this.recordResultSummary(span, recorded.result, job);
    }
    if (classification.isFailure) this.recordFailure(span, classification);
    span.end(performance.timeOrigin + endedAt);
  }

  /**
   * BullMQ 5 before deferred failures failed over-stalled jobs inside its
   * stalled checker, without running `processJob`; each gets a zero-length span
   * so the ledger still sees the final failure.
   */
  recordStalledFailure(worker: unknown, job: LedgerJob): void {
    const queue = readString(worker, 'name') ?? job.queueName;
    const now = performance.timeOrigin + performance.now();
    const span = this.deps.tracer().startSpan(
      `${attr.OPERATION_PROCESS} ${queue}`,
      { kind: SpanKind.CONSUMER, attributes: this.startAttributes(worker, job, queue), startTime: now },
      ROOT_CONTEXT,
    );
    span.setAttributes({
      [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
      [attr.ATTR_ATTEMPT_DURATION_MS]: 0,
    });
    this.recordFailure(span, {
      outcome: 'failed',
      final: true,
      isFailure: true,
      cause: { thrown: new Error(STALLED_LIMIT_MESSAGE) },
    });
    span.end(now);
  }

  private startAttributes(worker: unknown, job: LedgerJob, queue: string): Attributes {
    const attributes: Attributes = {
      [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
      [attr.ATTR_MESSAGING_OPERATION_TYPE]: attr.OPERATION_PROCESS,
      [attr.ATTR_MESSAGING_OPERATION_NAME]: attr.OPERATION_PROCESS,
      [attr.ATTR_MESSAGING_DESTINATION_NAME]: queue,
      [attr.ATTR_BULLMQ_JOB_NAME]: job.name,
      [attr.ATTR_ATTEMPT_NUMBER]: job.attemptsMade + 1,
      [attr.ATTR_JOB_ATTEMPTS_MAX]: maxAttempts(job),
    };
    const id = jobIdOf(job);
    if (id !== undefined) attributes[attr.ATTR_MESSAGING_MESSAGE_ID] = id;
    const started = readFiniteNumber(job, 'attemptsStarted');
    if (started !== undefined) attributes[attr.ATTR_JOB_ATTEMPTS_STARTED] = started;
    const enqueuedAt = readFiniteNumber(job, 'timestamp');
    if (enqueuedAt !== undefined) {
      attributes[attr.ATTR_JOB_ENQUEUED_AT] = enqueuedAt;
      const processedOn = readFiniteNumber(job, 'processedOn');
      if (processedOn !== undefined) {
        attributes[attr.ATTR_JOB_QUEUE_WAIT_MS] = Math.max(processedOn - enqueuedAt, 0);
      }
    }
    const parentKey = readString(job, 'parentKey');
    if (parentKey !== undefined) attributes[attr.ATTR_JOB_PARENT_KEY] = parentKey;
    const workerName = readString(readProperty(worker, 'opts'), 'name');
    if (workerName !== undefined) attributes[attr.ATTR_BULLMQ_WORKER_NAME] = workerName;
    return attributes;
  }

  private optInAttributes(job: LedgerJob, config: ResolvedConfig): Attributes {
    const attributes = jobDataAttributes(job.data, config.jobDataAttributes, config.maxAttributeLength);
    const hook = config.metadata;
    const metadata = runJsonHook(
      'metadata',
      hook && (() => hook(job)),
      config.maxAttributeLength,
      this.deps.diag,
    );
    if (metadata !== undefined) attributes[attr.ATTR_JOB_METADATA] = metadata;
    return attributes;
  }

  private recordResultSummary(span: Span, result: unknown, job: LedgerJob): void {
    const config = this.deps.config();
    const hook = config.resultSummary;
    const summary = runJsonHook(
      'resultSummary',
      hook && (() => hook(result, job)),
      config.maxAttributeLength,
      this.deps.diag,
    );
    if (summary !== undefined) span.setAttribute(attr.ATTR_JOB_RESULT_SUMMARY, summary);
  }

  private recordFailure(span: Span, classification: AttemptClassification): void {
    const config = this.deps.config();
    const details: ErrorDetails =
      classification.cause === undefined
        ? { type: attr.ERROR_TYPE_OTHER, message: 'the worker closed before BullMQ recorded the attempt' }
        : errorToDetails(classification.cause.thrown, {
            maxMessageLength: config.maxErrorMessageLength,
            maxStackLength: config.maxErrorStackLength,
          });
    span.setAttributes({
      [attr.ATTR_ERROR_TYPE]: details.type,
      [attr.ATTR_ERROR_MESSAGE]: details.message,
    });
    if (details.stack !== undefined) span.setAttribute(attr.ATTR_ERROR_STACK, details.stack);
    span.recordException({ name: details.type, message: details.message, stack: details.stack });
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message:
        classification.outcome === 'stalled'
          ? `attempt not recorded by BullMQ: ${details.message}`
          : details.message,
    });
  }
}

function hasOptIn(config: ResolvedConfig): boolean {
  return config.jobDataAttributes.length > 0 || config.metadata !== undefined;
}

/** `opts.attempts` is the total number of runs; BullMQ treats 0 or absent as 1. */
function maxAttempts(job: LedgerJob): number {
  const attempts = readFiniteNumber(job.opts, 'attempts');
  return attempts !== undefined && attempts >= 1 ? Math.floor(attempts) : 1;
}
