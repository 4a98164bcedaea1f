import { context } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { classPrototype, hasMethod, isBullMQJob } from './bullmq-shapes';
import type { WrappableMethod } from './bullmq-shapes';
import { resolveConfig } from './config';
import type { ResolvedConfig } from './config';
import { AttemptMetrics } from './attempt-metrics';
import { ConsumerSpans } from './consumer-spans';
import type { Attempt } from './consumer-spans';
import { ProducerSpans } from './producer-spans';
import type { CallOriginal } from './producer-spans';
import { isPromiseLike, readProperty } from './safe-read';
import type { BullMQInstrumentationConfig } from './types';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version';

/** BullMQ versions this instrumentation patches; the same range the README states. */
export const SUPPORTED_BULLMQ_VERSIONS = ['>=5.0.0 <7'];

type WrapperFactory = (original: WrappableMethod) => WrappableMethod;

/** The classes BullMQ exports whose prototypes are patched. */
const PATCHED_CLASSES = ['Worker', 'Job', 'Queue', 'FlowProducer'] as const;

/**
 * OpenTelemetry instrumentation for BullMQ: one CONSUMER span per job attempt
 * (`process {queue}`) with the attempt's outcome as BullMQ recorded it, and
 * producer spans for `Queue.add`, `Queue.addBulk` and `FlowProducer` with the
 * trace context carried in the job.
 *
 * Register it before `bullmq` is first required (or imported, with the
 * `import-in-the-middle` loader for ESM applications).
 */
export class BullMQInstrumentation extends InstrumentationBase<ResolvedConfig> {
  /** Rebuilt when a meter provider is set; none registered: the API's no-op meter. */
  private attemptMetrics: AttemptMetrics | undefined;

  private readonly consumer = new ConsumerSpans({
    tracer: () => this.tracer,
    metrics: () => this.attemptMetrics,
    config: () => this.getConfig(),
    diag: this._diag,
  });

  private readonly producer = new ProducerSpans({
    tracer: () => this.tracer,
    config: () => this.getConfig(),
    diag: this._diag,
  });

  /** @throws InvalidConfigError when an option is invalid; the message says which and why. */
  constructor(config: BullMQInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, resolveConfig(config));
    // The base class calls _updateMetricInstruments before this class's fields exist: build them again.
    this._updateMetricInstruments();
  }

  protected override _updateMetricInstruments(): void {
    const attemptMetrics = new AttemptMetrics(this.meter);
    // No meter provider registered: no cost per attempt (not even the counting tables).
    this.attemptMetrics = attemptMetrics.active ? attemptMetrics : undefined;
  }

  /** @throws InvalidConfigError when an option is invalid; the current config is kept. */
  override setConfig(config: BullMQInstrumentationConfig = {}): void {
    super.setConfig(resolveConfig(config));
  }

  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'bullmq',
      SUPPORTED_BULLMQ_VERSIONS,
      (moduleExports: unknown) => {
        this.patch(moduleExports);
        return moduleExports;
      },
      (moduleExports: unknown) => this.unpatch(moduleExports),
    );
  }

  /**
   * Every method wrapped, by class. A method the loaded BullMQ version lacks is
   * skipped: 5.0 handles failures in closures (no `handleFailed`) and fails
   * over-stalled jobs in `notifyFailedJobs`, which later versions dropped.
   */
  private wrappers(moduleExports: unknown): Record<(typeof PATCHED_CLASSES)[number], Record<string, WrapperFactory>> {
    const workerPrototype = classPrototype(moduleExports, 'Worker');
    const hasFailureHandler = workerPrototype !== undefined && hasMethod(workerPrototype, 'handleFailed');
    const producer = this.producer;
    return {
      Worker: {
        processJob: (original) => this.wrapProcessJob(original),
        callProcessJob: (original) => this.wrapCallProcessJob(original, !hasFailureHandler),
        handleFailed: (original) => this.wrapFailureHandling(original),
        moveLimitedBackToWait: (original) => this.wrapRateLimitMove(original),
        notifyFailedJobs: (original) => this.wrapNotifyFailedJobs(original),
      },
      Job: {
        moveToCompleted: (original) => this.wrapMove(original, 'completed'),
        moveToFailed: (original) => this.wrapMove(original, 'failed'),
      },
      Queue: {
        add: (original) => this.wrapProducer(original, (queue, args, call) => producer.add(queue, args, call)),
        addBulk: (original) => this.wrapProducer(original, (queue, args, call) => producer.addBulk(queue, args, call)),
      },
      FlowProducer: {
        add: (original) => this.wrapProducer(original, (_, args, call) => producer.addFlow(args, call)),
        addBulk: (original) => this.wrapProducer(original, (_, args, call) => producer.addFlows(args, call)),
      },
    };
  }

  private patch(moduleExports: unknown): void {
    const wrappers = this.wrappers(moduleExports);
    for (const className of PATCHED_CLASSES) {
      const prototype = classPrototype(moduleExports, className);
      if (prototype === undefined) {
        this._diag.warn(`bullmq-ledger: bullmq exports no ${className} class; it is not instrumented`);
        continue;
      }
      for (const [method, factory] of Object.entries(wrappers[className])) {
        if (hasMethod(prototype, method)) this._wrap(prototype, method, factory);
      }
    }
  }

  private unpatch(moduleExports: unknown): void {
    const wrappers = this.wrappers(moduleExports);
    for (const className of PATCHED_CLASSES) {
      const prototype = classPrototype(moduleExports, className);
      if (prototype === undefined) continue;
      for (const method of Object.keys(wrappers[className])) {
        if (hasMethod(prototype, method) && isWrapped(readProperty(prototype, method))) this._unwrap(prototype, method);
      }
    }
  }

  /**
   * The attempt's span: starts before BullMQ's `processJob`, ends once it has
   * settled. The span is made active only around the processor (see
   * wrapCallProcessJob): every promise created while a context is active
   * carries it, and BullMQ's own bookkeeping need not pay for that.
   */
  private wrapProcessJob(original: WrappableMethod): WrappableMethod {
    const start = (worker: unknown, job: unknown): Attempt | undefined => this.startAttempt(worker, job);
    const finish = (attempt: Attempt): void => this.finishAttempt(attempt);
    return function processJobWithSpan(this: unknown, ...args: unknown[]): unknown {
      const attempt = start(this, args[0]);
      if (attempt === undefined) return original.apply(this, args);
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (err) {
        finish(attempt);
        throw err;
      }
      if (!isPromiseLike(result)) {
        finish(attempt);
        return result;
      }
      return result.then(
        (value) => {
          finish(attempt);
          return value;
        },
        (err: unknown) => {
          finish(attempt);
          throw err;
        },
      );
    };
  }

  /** Remembers the error BullMQ's failure handling receives: the processor's, or a failed move's. */
  private wrapFailureHandling(original: WrappableMethod): WrappableMethod {
    const consumer = this.consumer;
    const diag = this._diag;
    return function handleFailedObserved(this: unknown, ...args: unknown[]): unknown {
      try {
        consumer.failureHandled(args[1], args[0]);
      } catch (err) {
        diag.error('bullmq-ledger: could not observe a job failure', err);
      }
      return original.apply(this, args);
    };
  }

  /**
   * Runs the user's processor with the attempt's span active, so that spans it
   * creates are children of it. On BullMQ 5.0 (no `Worker.handleFailed`) it also
   * observes the processor's error, which costs a promise per attempt there.
   */
  private wrapCallProcessJob(original: WrappableMethod, observeFailure: boolean): WrappableMethod {
    const consumer = this.consumer;
    return function callProcessJobInContext(this: unknown, ...args: unknown[]): unknown {
      const attempt = consumer.find(args[0]);
      if (attempt === undefined) return original.apply(this, args);
      const result = context.with(attempt.context, original, this, ...args);
      if (!observeFailure || !isPromiseLike(result)) return result;
      return result.then(undefined, (err: unknown) => {
        consumer.failureHandled(args[0], err);
        throw err;
      });
    };
  }

  /**
   * Notes each move BullMQ begins; whether it succeeded is read from
   * `attemptsMade` when the attempt ends (see consumer-spans.ts).
   */
  private wrapMove(original: WrappableMethod, kind: 'completed' | 'failed'): WrappableMethod {
    const consumer = this.consumer;
    const diag = this._diag;
    return function moveObserved(this: unknown, ...args: unknown[]): unknown {
      try {
        consumer.moveBegun(
          this,
          kind === 'completed'
            ? { kind, result: args[0] }
            : { kind, error: args[0], finishedOnBefore: readProperty(this, 'finishedOn') },
        );
      } catch (err) {
        diag.error('bullmq-ledger: could not observe a job move', err);
      }
      return original.apply(this, args);
    };
  }

  /**
   * A rate-limited job is moved back to wait by BullMQ (`moveLimitedBackToWait`);
   * if that move fails (lost lock), the attempt was not recorded after all. Only
   * rate-limited attempts pay for this promise.
   */
  private wrapRateLimitMove(original: WrappableMethod): WrappableMethod {
    const consumer = this.consumer;
    return function moveLimitedBackToWaitObserved(this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      if (consumer.find(args[0]) === undefined || !isPromiseLike(result)) return result;
      return result.then(undefined, (err: unknown) => {
        consumer.failureHandled(args[0], err);
        throw err;
      });
    };
  }

  private wrapNotifyFailedJobs(original: WrappableMethod): WrappableMethod {
    const record = (worker: unknown, jobs: unknown): void => this.recordStalledFailures(worker, jobs);
    return function notifyFailedJobsObserved(this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      record(this, args[0]);
      return result;
    };
  }

  private wrapProducer(
    original: WrappableMethod,
    traced: (target: unknown, args: unknown[], call: CallOriginal) => unknown,
  ): WrappableMethod {
    const diag = this._diag;
    return function producerWithSpan(this: unknown, ...args: unknown[]): unknown {
      let called = false;
      const call = (callArgs: unknown[]): unknown => {
        called = true;
        return original.apply(this, callArgs);
      };
      try {
        return traced(this, args, call);
      } catch (err) {
        if (called) throw err; // BullMQ's own error
        diag.error('bullmq-ledger: could not trace a producer call; calling BullMQ untraced', err);
        return original.apply(this, args);
      }
    };
  }

  private startAttempt(worker: unknown, job: unknown): Attempt | undefined {
    try {
      return isBullMQJob(job) ? this.consumer.start(worker, job) : undefined;
    } catch (err) {
      this._diag.error('bullmq-ledger: could not start a job span; the job runs untraced', err);
      return undefined;
    }
  }

  private finishAttempt(attempt: Attempt): void {
    try {
      this.consumer.finish(attempt);
    } catch (err) {
      this._diag.error('bullmq-ledger: could not end a job span', err);
    }
  }

  private recordStalledFailures(worker: unknown, jobs: unknown): void {
    try {
      if (!Array.isArray(jobs)) return;
      for (const job of jobs) if (isBullMQJob(job)) this.consumer.recordStalledFailure(worker, job);
    } catch (err) {
      this._diag.error('bullmq-ledger: could not record stalled job failures', err);
    }
  }
}
