import { diag } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { resolveConfig } from '../../src/config';
import { ConsumerSpans } from '../../src/consumer-spans';
import type { BullMQJob } from '../../src/types';
import { bullmq } from '../helpers/bullmq';
import { REDIS, uniqueName } from '../helpers/queues';

/**
 * The move bookkeeping, driven step by step on real BullMQ Job objects. Where
 * BullMQ would increment attemptsMade after a successful move, the test does.
 */
describe('ConsumerSpans: which move BullMQ recorded', () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('test');
  const consumer = new ConsumerSpans({
    tracer: () => tracer,
    metrics: () => undefined,
    config: () => resolveConfig({}),
    diag,
  });
  const queue = new bullmq.Queue(uniqueName('unit'), { connection: REDIS });
  const worker = { name: queue.name };

  after(() => queue.close());
  beforeEach(() => exporter.reset());

  function newJob(): BullMQJob {
    return new bullmq.Job(queue, 'j', {}, { attempts: 3 }, '1');
  }

  function outcome(): unknown {
    return exporter.getFinishedSpans().at(-1)?.attributes[attr.ATTR_ATTEMPT_OUTCOME];
  }

  it('takes a move re-run after a connection error (failed, then succeeded) as the recorded one', () => {
    const job = newJob();
    const attempt = consumer.start(worker, job);
    consumer.moveBegun(job, { kind: 'failed', error: new Error('x'), finishedOnBefore: undefined });
    consumer.moveBegun(job, { kind: 'completed', result: 'ok' });
    job.attemptsMade += 1; // the second move succeeded
    consumer.finish(attempt);
    expect(outcome()).to.equal('completed');
  });

  it('ignores a move begun after the recorded one (it can only fail: the lock is gone)', () => {
    const job = newJob();
    const attempt = consumer.start(worker, job);
    consumer.moveBegun(job, { kind: 'completed', result: 'ok' });
    job.attemptsMade += 1;
    consumer.failureHandled(job, new Error("a 'completed' listener threw"));
    consumer.moveBegun(job, {
      kind: 'failed',
      error: new Error("a 'completed' listener threw"),
      finishedOnBefore: undefined,
    });
    consumer.finish(attempt);
    expect(outcome()).to.equal('completed');
  });

  it('reports stalled when moves were begun but none succeeded', () => {
    const job = newJob();
    const attempt = consumer.start(worker, job);
    consumer.moveBegun(job, { kind: 'completed', result: 'ok' });
    consumer.moveBegun(job, {
      kind: 'failed',
      error: new Error('Missing lock for job 1'),
      finishedOnBefore: undefined,
    });
    consumer.finish(attempt);
    expect(outcome()).to.equal('stalled');
    expect(exporter.getFinishedSpans().at(-1)?.attributes[attr.ATTR_ERROR_MESSAGE]).to.equal('Missing lock for job 1');
  });

  it('forgets the job once its attempt has ended', () => {
    const job = newJob();
    consumer.finish(consumer.start(worker, job));
    expect(consumer.find(job)).to.equal(undefined);
  });
});
