import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { startLedgerPipeline } from '../helpers/ledger-pipeline';
import { ledgerSpans, memoryExporter, processSpans, provider } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import type { QueueFixture } from '../helpers/queues';

async function runJobs(q: QueueFixture, jobs: number): Promise<void> {
  await q.queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'sampled-job', data: { i } })));
  q.worker(
    async () => {
      provider.getTracer('app').startSpan(`child-of-job ${q.name}`).end();
      return 'ok';
    },
    { concurrency: 20 },
  );
}

describe('sampling: the backend keeps the application sampling, the ledger keeps every job', () => {
  const fixture = queueFixtures();

  it('at 0%: nothing reaches the backend, every job reaches the ledger, children are not recorded', async () => {
    const ledger = await startLedgerPipeline('sample0', { appSampler: new AlwaysOffSampler() });
    try {
      const q = fixture('sample0');
      const JOBS = 300;
      await runJobs(q, JOBS);
      const records = await ledger.waitForRecords(q.name, JOBS);
      expect(records).to.have.length(JOBS);
      expect(ledgerSpans(q.name)).to.deep.equal([]); // the backend: sampled spans only
      const children = ledger.recorded.spans.filter((span) => span.name === `child-of-job ${q.name}`);
      expect(children).to.deep.equal([]);
      const recordedJobSpans = ledger.recorded.spans.filter((span) => span.name === `process ${q.name}`);
      expect(recordedJobSpans).to.have.length(JOBS);
      expect(recordedJobSpans.every((span) => (span.spanContext().traceFlags & 1) === 0)).to.equal(true);
    } finally {
      await ledger.close();
    }
  });

  it("at 1%: the backend gets exactly the attempts the application's sampler chose", async () => {
    const ratio = new TraceIdRatioBasedSampler(0.01);
    const ledger = await startLedgerPipeline('sample1', { appSampler: new ParentBasedSampler({ root: ratio }) });
    try {
      const q = fixture('sample1');
      const JOBS = 1000; // enough that 1% is not zero (0.99^1000 < 1e-4)
      await runJobs(q, JOBS);
      const records = await ledger.waitForRecords(q.name, JOBS);
      expect(records).to.have.length(JOBS);
      const chosen = records
        .filter(
          (record) =>
            ratio.shouldSample(ROOT_CONTEXT, record.traceId ?? '').decision === SamplingDecision.RECORD_AND_SAMPLED,
        )
        .map((record) => record.spanId)
        .sort();
      const exported = processSpans(q.name)
        .filter((span) => span.kind === SpanKind.CONSUMER)
        .map((span) => span.spanContext().spanId)
        .sort();
      expect(exported).to.deep.equal(chosen);
      expect(exported.length)
        .to.be.greaterThan(0)
        .and.below(JOBS / 10);
      // Children follow their job span's sampling: one in the backend under each sampled job span.
      const children = memoryExporter.getFinishedSpans().filter((span) => span.name === `child-of-job ${q.name}`);
      expect(children.map((span) => span.parentSpanContext?.spanId).sort()).to.deep.equal(exported);
    } finally {
      await ledger.close();
    }
  });
});
