import { context } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { classPrototype, hasMethod, isBullMQJob } from './bullmq-shapes';
import type { AnyMethod } from './bullmq-shapes';
import { resolveConfig } from './config';
import type { ResolvedConfig } from './config';
import { ConsumerSpans } from './consumer-spans';
import type { Attempt } from './consumer-spans';
import { ProducerSpans } from './producer-spans';
import { isPromiseLike, readProperty } from './safe-read';
import type { BullMQInstrumentationConfig } from './types';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version';

/** BullMQ versions this instrumentation patches; the same range the README states. */
export const SUPPORTED_BULLMQ_VERSIONS = ['>=5.0.0 <7'];

/** Every method we wrap, by exported class. A method a version lacks is skipped. */
const PATCHED_METHODS = {
  Worker: ['processJob', 'callProcessJob', 'notifyFailedJobs'],
  Job: ['moveToCompleted', 'moveToFailed'],
  Queue: ['add', 'addBulk'],
  FlowProducer: ['add', 'addBulk'],
} as const;

type WrapperFactory = (original: AnyMethod) => AnyMethod;

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
  private readonly consumer = new ConsumerSpans({
    tracer: () => this.tracer,
    config: () => this.getConfig(),
    diag: this._diag,
  });

  private readonly producer = new ProducerSpans({ tracer: () => this.tracer, diag: this._diag });

  /** @throws InvalidConfigError when an option is invalid; the message says which and why. */
  constructor(config: BullMQInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, resolveConfig(config));
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

  private patch(moduleExports: unknown): void {
    const wrappers: Record<string, Record<string, WrapperFactory>> = {
      Worker: {
        processJob: (original) => this.wrapProcessJob(original),
        callProcessJob: (original) => this.wrapCallProcessJob(original),
        notifyFailedJobs: (original) => this.wrapNotifyFailedJobs(original),
      },
      Job: {
        moveToCompleted: (original) => this.wrapMove(original, 'completed'),
        moveToFailed: (original) => this.wrapMove(original, 'failed'),
      },
      Queue: {
        add: (original) => this.wrapProducer(original, (queue, args, call) => this.producer.add(queue, args, call)),
        addBulk: (original) =>
          this.wrapProducer(original, (queue, args, call) => this.producer.addBulk(queue, args, call)),
      },
      FlowProducer: {
        add: (original) => this.wrapProducer(original, (_, args, call) => this.producer.addFlow(args, call)),
        addBulk: (original) => this.wrapProducer(original, (_, args, call) => this.producer.addFlows(args, call)),
      },
    };
    for (const [className, methods] of Object.entries(PATCHED_METHODS)) {
      const prototype = classPrototype(moduleExports, className);
      if (prototype === undefined) {
        this._diag.warn(`bullmq-ledger: bullmq exports no ${className} class; it is not instrumented`);
        continue;
      }
      for (const method of methods) {
        const factory = wrappers[className]?.[method];
        if (factory === undefined) continue;
        if (!hasMethod(prototype, method)) {
          this._diag.debug(`bullmq-ledger: ${className}.prototype.${method} not found in this BullMQ version`);
          continue;
        }
        this._wrap(prototype, method, factory);
      }
    }
  }

  private unpatch(moduleExports: unknown): void {
    for (const [className, methods] of Object.entries(PATCHED_METHODS)) {
      const prototype = classPrototype(moduleExports, className);
      if (prototype === undefined) continue;
      for (const method of methods) {
        if (hasMethod(prototype, method) && isWrapped(readProperty(prototype, method))) {
          this._unwrap(prototype, method);
        }
      }
    }
  }

  /** The attempt's span: starts before BullMQ's `processJob`, ends once it has settled. */
  private wrapProcessJob(original: AnyMethod): AnyMethod {
    const start = (worker: unknown, job: unknown): Attempt | undefined => this.startAttempt(worker, job);
    const finish = (attempt: Attempt): void => this.finishAttempt(attempt);
    return function processJobWithSpan(this: unknown, ...args: unknown[]): unknown {
      const attempt = start(this, args[0]);
      if (attempt === undefined) return original.apply(this, args);
      let result: unknown;
      try {
        result = context.with(attempt.context, () => original.apply(this, args));
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

  /** Remembers how the user's processor ended: its result, or what it threw. */
  private wrapCallProcessJob(original: AnyMethod): AnyMethod {
    const consumer = this.consumer;
    return function callProcessJobObserved(this: unknown, ...args: unknown[]): unknown {
      const attempt = consumer.find(args[0]);
      if (attempt === undefined) return original.apply(this, args);
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (err) {
        attempt.processor = { kind: 'threw', error: err };
        throw err;
      }
      if (!isPromiseLike(result)) {
        attempt.processor = { kind: 'returned', result };
        return result;
      }
      return result.then(
        (value) => {
          attempt.processor = { kind: 'returned', result: value };
          return value;
        },
        (err: unknown) => {
          attempt.processor = { kind: 'threw', error: err };
          throw err;
        },
      );
    };
  }

  /**
   * Observes BullMQ recording the attempt. A move that resolves happened; the
   * last one wins (BullMQ re-runs moves after connection errors). A failure is
   * final when BullMQ stamped `finishedOn`, which it does only when it does
   * not retry.
   */
  private wrapMove(original: AnyMethod, kind: 'completed' | 'failed'): AnyMethod {
    const consumer = this.consumer;
    return function moveObserved(this: unknown, ...args: unknown[]): unknown {
      const attempt = consumer.find(this);
      if (attempt === undefined) return original.apply(this, args);
      const finishedOnBefore = readProperty(this, 'finishedOn');
      const result = original.apply(this, args);
      if (!isPromiseLike(result)) return result;
      return result.then(
        (value) => {
          if (kind === 'completed') {
            attempt.recorded = { kind, result: args[0] };
          } else {
            const finishedOn = readProperty(this, 'finishedOn');
            const final = typeof finishedOn === 'number' && finishedOn !== finishedOnBefore;
            attempt.recorded = { kind, error: args[0], final };
          }
          return value;
        },
        (err: unknown) => {
          attempt.moveError = { thrown: err };
          throw err;
        },
      );
    };
  }

  private wrapNotifyFailedJobs(original: AnyMethod): AnyMethod {
    const record = (worker: unknown, jobs: unknown): void => this.recordStalledFailures(worker, jobs);
    return function notifyFailedJobsObserved(this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      record(this, args[0]);
      return result;
    };
  }

  private wrapProducer(
    original: AnyMethod,
    trace: (target: unknown, args: unknown[], call: (args: unknown[]) => unknown) => unknown,
  ): AnyMethod {
    const diag = this._diag;
    return function producerWithSpan(this: unknown, ...args: unknown[]): unknown {
      let called = false;
      const call = (callArgs: unknown[]): unknown => {
        called = true;
        return original.apply(this, callArgs);
      };
      try {
        return trace(this, args, call);
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
