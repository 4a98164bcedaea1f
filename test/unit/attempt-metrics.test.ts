import { createNoopMeter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import { AttemptMetrics } from '../../src/attempt-metrics';
import * as names from '../../src/metric-names';
import { TestMetricReader } from '../helpers/metrics';

describe('AttemptMetrics', () => {
  it('is inactive on the API no-op meter (no meter provider registered), so the instrumentation skips it', () => {
    expect(new AttemptMetrics(createNoopMeter()).active).to.equal(false);
  });

  it('is active on a real meter, and counts what it records', async () => {
    const reader = new TestMetricReader();
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = new AttemptMetrics(provider.getMeter('test'));
    expect(metrics.active).to.equal(true);
    metrics.record({ queue: 'q', outcome: 'completed', final: true, durationMs: 20 });
    const { resourceMetrics } = await reader.collect();
    const collected = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    const jobOutcomes = collected.find((metric) => metric.descriptor.name === names.METRIC_JOB_OUTCOMES);
    expect(jobOutcomes?.dataPoints.map((point) => point.value)).to.deep.equal([1]);
    await provider.shutdown();
  });
});
