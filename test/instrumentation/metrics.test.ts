import { metrics } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import * as names from '../../src/metric-names';
import { observeQueues } from '../../src';
import { instrumentation, processSpans, sampler, RecordedSpans, extraProcessor } from '../helpers/otel';
import { TestMetricReader as TestReader } from '../helpers/metrics';
import { queueFixtures } from '../helpers/queues';
import { holdUntilStalled } from '../helpers/stall';
import { waitFor } from '../helpers/wait';

async function collect(reader: MetricReader): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
}

function points(all: MetricData[], name: string, queue: string): Array<DataPoint<unknown>> {
  const metric = all.find((candidate) => candidate.descriptor.name === name);
  const found: Array<DataPoint<unknown>> = metric === undefined ? [] : metric.dataPoints;
  return found.filter((point) => point.attributes[attr.ATTR_MESSAGING_DESTINATION_NAME] === queue);
}

function sumBy(all: MetricData[], name: string, queue: string, key?: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const point of points(all, name, queue)) {
    const label = key === undefined ? 'all' : String(point.attributes[key] ?? '(none)');
    const value = point.value;
    const n = typeof value === 'number' ? value : (value as Histogram).count;
    sums[label] = (sums[label] ?? 0) + n;
  }
  return sums;
}

const ALLOWED_KEYS = new Set([
  attr.ATTR_MESSAGING_SYSTEM,
  attr.ATTR_MESSAGING_OPERATION_NAME,
  attr.ATTR_MESSAGING_DESTINATION_NAME,
  attr.ATTR_ERROR_TYPE,
  attr.ATTR_ATTEMPT_OUTCOME,
  names.ATTR_JOB_OUTCOME,
]);

describe('metrics: every attempt counted where it ends', () => {
  const fixture = queueFixtures();
  let reader: TestReader;
  let provider: MeterProvider;

  beforeEach(() => {
    reader = new TestReader();
    provider = new MeterProvider({ readers: [reader] });
    instrumentation.setMeterProvider(provider);
  });
  afterEach(async () => {
    instrumentation.setMeterProvider(metrics.getMeterProvider());
    sampler.current = new AlwaysOnSampler();
    extraProcessor.current = [];
    await provider.shutdown();
  });

  /** 3 completed, 1 retried then completed, 1 failed for good after 2 attempts: 7 attempts, 5 jobs. */
  async function runMix(label: string): Promise<string> {
    const q = fixture(label);
    for (let i = 0; i < 3; i++) await q.queue.add('ok', { i });
    await q.queue.add('flaky', {}, { attempts: 3 });
    await q.queue.add('doomed', {}, { attempts: 2 });
    let done = 0;
    const worker = q.worker(async (job) => {
      if (job.name === 'flaky' && job.attemptsMade === 0) throw new TypeError('card declined');
      if (job.name === 'doomed') throw new Error(`no such user ${job.id ?? ''}`);
      return 'ok';
    });
    worker.on('completed', () => (done += 1));
    worker.on('failed', (job) => {
      if (job?.finishedOn !== undefined) done += 1;
    });
    await waitFor(() => done === 5, { timeoutMs: 15_000, what: '5 jobs finished for good' });
    // The last attempt's metrics are recorded when its span ends, just after BullMQ's event.
    await waitFor(async () => sumBy(await collect(reader), names.METRIC_CONSUMED_MESSAGES, q.name).all === 7, {
      what: '7 consumed messages counted',
    });
    return q.name;
  }

  it('counts each attempt once in the duration histogram and the consumed counter, with the spans durations', async () => {
    const queue = await runMix('metrics-mix');
    const all = await collect(reader);
    expect(sumBy(all, names.METRIC_PROCESS_DURATION, queue)).to.deep.equal({ all: 7 });
    expect(sumBy(all, names.METRIC_CONSUMED_MESSAGES, queue)).to.deep.equal({ all: 7 });
    expect(sumBy(all, names.METRIC_ATTEMPT_OUTCOMES, queue, attr.ATTR_ATTEMPT_OUTCOME)).to.deep.equal({
      completed: 4,
      retry: 2,
      failed: 1,
    });
    // The histogram's sum is the spans' durations (end minus start), in seconds.
    const spans = processSpans(queue);
    expect(spans).to.have.length(7);
    const spanSeconds = spans.reduce((sum, span) => sum + span.duration[0] + span.duration[1] / 1e9, 0);
    const histogramSeconds = points(all, names.METRIC_PROCESS_DURATION, queue).reduce(
      (sum, point) => sum + ((point.value as Histogram).sum ?? Number.NaN),
      0,
    );
    expect(histogramSeconds).to.be.closeTo(spanSeconds, 7e-6); // the span keeps microseconds
    const metric = all.find((candidate) => candidate.descriptor.name === names.METRIC_PROCESS_DURATION);
    expect(metric?.descriptor.unit).to.equal('s');
    expect(metric?.dataPointType).to.equal(DataPointType.HISTOGRAM);
    const boundaries = (metric?.dataPoints[0]?.value as Histogram | undefined)?.buckets.boundaries;
    expect(boundaries).to.deep.equal([...names.PROCESS_DURATION_BUCKETS]);
  });

  it('counts each job once in job outcomes, however many attempts it took', async () => {
    const queue = await runMix('metrics-jobs');
    const all = await collect(reader);
    expect(sumBy(all, names.METRIC_JOB_OUTCOMES, queue, names.ATTR_JOB_OUTCOME)).to.deep.equal({
      completed: 4,
      failed: 1,
    });
  });

  it('sets error.type on failed attempts only, to the error class', async () => {
    const queue = await runMix('metrics-errors');
    const all = await collect(reader);
    expect(sumBy(all, names.METRIC_PROCESS_DURATION, queue, attr.ATTR_ERROR_TYPE)).to.deep.equal({
      '(none)': 4,
      TypeError: 1,
      Error: 2,
    });
  });

  it('never carries a high-cardinality attribute (job id, trace id, attempt number, message, pid)', async () => {
    const queue = await runMix('metrics-cardinality');
    const all = await collect(reader);
    const ids = new Set(
      processSpans(queue).flatMap((span) => [
        String(span.attributes[attr.ATTR_MESSAGING_MESSAGE_ID]),
        span.spanContext().traceId,
      ]),
    );
    for (const metric of all) {
      for (const point of metric.dataPoints) {
        const attributes: Attributes = point.attributes;
        for (const [key, value] of Object.entries(attributes)) {
          expect(ALLOWED_KEYS.has(key), `${metric.descriptor.name}: ${key}`).to.equal(true);
          expect(ids.has(String(value)), `${metric.descriptor.name}: ${key}=${String(value)}`).to.equal(false);
          expect(String(value)).not.to.include('no such user');
        }
      }
    }
  });

  it('counts every attempt while the tracer samples 0%', async () => {
    sampler.current = new AlwaysOffSampler();
    const recorded = new RecordedSpans();
    extraProcessor.current = [recorded];
    const queue = await runMix('metrics-unsampled');
    expect(
      recorded.spans.filter((span) => span.attributes[attr.ATTR_MESSAGING_DESTINATION_NAME] === queue),
    ).to.have.length(0);
    const all = await collect(reader);
    expect(sumBy(all, names.METRIC_PROCESS_DURATION, queue)).to.deep.equal({ all: 7 });
    expect(sumBy(all, names.METRIC_JOB_OUTCOMES, queue, names.ATTR_JOB_OUTCOME)).to.deep.equal({
      completed: 4,
      failed: 1,
    });
  });

  it('counts a stalled job once in job outcomes (failed), and its unrecorded attempt as stalled', async () => {
    const q = fixture('metrics-stalled');
    // With maxStalledCount 0, BullMQ fails the job for good; the held attempt ends unrecorded.
    const { release } = await holdUntilStalled(q);
    await waitFor(async () => (await q.queue.getJobCounts('failed')).failed === 1, { what: 'BullMQ to fail the job' });
    release();
    await waitFor(async () => (sumBy(await collect(reader), names.METRIC_ATTEMPT_OUTCOMES, q.name).all ?? 0) === 2, {
      what: 'both attempts to be counted',
    });
    const all = await collect(reader);
    expect(sumBy(all, names.METRIC_ATTEMPT_OUTCOMES, q.name, attr.ATTR_ATTEMPT_OUTCOME)).to.deep.equal({
      failed: 1,
      stalled: 1,
    });
    expect(sumBy(all, names.METRIC_JOB_OUTCOMES, q.name, names.ATTR_JOB_OUTCOME)).to.deep.equal({ failed: 1 });
    expect(sumBy(all, names.METRIC_CONSUMED_MESSAGES, q.name)).to.deep.equal({ all: 2 });
  });

  it('observes waiting jobs, the age of the oldest and whether the queue is paused from Queue handles, until stopped', async () => {
    const q = fixture('metrics-gauges');
    const first = await q.queue.add('waits', {});
    await q.queue.add('waits', {});
    await q.queue.add('waits', {});
    // BullMQ keeps prioritized jobs in a set of their own: they wait too.
    await q.queue.add('urgent', {}, { priority: 1 });
    const now = (first.timestamp ?? 0) + 42_000;
    const gauges = observeQueues([q.queue], { meterProvider: provider, now: () => now });
    const all = await collect(reader);
    expect(points(all, names.METRIC_QUEUE_WAITING, q.name).map((point) => point.value)).to.deep.equal([4]);
    expect(points(all, names.METRIC_QUEUE_OLDEST_WAITING_AGE, q.name).map((point) => point.value)).to.deep.equal([42]);
    expect(points(all, names.METRIC_QUEUE_PAUSED, q.name).map((point) => point.value)).to.deep.equal([0]);
    // A paused queue says so: its waiting jobs are not a missing consumer.
    await q.queue.pause();
    const whilePaused = await collect(reader);
    expect(points(whilePaused, names.METRIC_QUEUE_PAUSED, q.name).map((point) => point.value)).to.deep.equal([1]);
    expect(points(whilePaused, names.METRIC_QUEUE_WAITING, q.name).map((point) => point.value)).to.deep.equal([4]);
    await q.queue.resume();
    gauges.stop();

    // Only prioritized jobs waiting: their age counts too (not a 0 that looks like an idle queue).
    const prio = fixture('metrics-gauges-prio');
    const urgent = await prio.queue.add('urgent', {}, { priority: 3 });
    await prio.queue.add('urgent', {}, { priority: 1 });
    const prioGauges = observeQueues([prio.queue], {
      meterProvider: provider,
      now: () => (urgent.timestamp ?? 0) + 90_000,
    });
    const prioPoints = await collect(reader);
    expect(points(prioPoints, names.METRIC_QUEUE_WAITING, prio.name).map((point) => point.value)).to.deep.equal([2]);
    const [age] = points(prioPoints, names.METRIC_QUEUE_OLDEST_WAITING_AGE, prio.name).map((point) => point.value);
    expect(age).to.be.within(89, 90);
    prioGauges.stop();
    // Stopped: the queue is no longer read (a fourth job changes nothing).
    await q.queue.add('waits', {});
    expect(
      points(await collect(reader), names.METRIC_QUEUE_WAITING, q.name).map((point) => point.value),
    ).to.not.include(5);
    expect(() => observeQueues([{} as never])).to.throw(TypeError, /observeQueues needs BullMQ Queue instances/);
  });
});
