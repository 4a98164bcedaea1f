/** A metric reader that collects on demand, cumulative: what a Prometheus scrape would see. */
import { AggregationTemporality, MetricReader } from '@opentelemetry/sdk-metrics';

export class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
