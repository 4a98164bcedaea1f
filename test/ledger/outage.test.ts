import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from '../../exporter';
import { ATTR_EXPORTER_RESULT, METRIC_EXPORTER_RECORDS } from '../../src/metric-names';
import { migrateLedger, WorkerJobRecord } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { extraProcessor, sampler } from '../helpers/otel';
import { uniqueSchema } from '../helpers/postgres';
import { queueFixtures } from '../helpers/queues';
import { TestMetricReader } from '../helpers/metrics';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

describe('the ledger database unreachable for a while', () => {
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });

  /** `bullmq_ledger.exporter.records` by result, as a scrape would read it. */
  async function recordsMetric(): Promise<Record<string, number>> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((candidate) => candidate.descriptor.name === METRIC_EXPORTER_RECORDS);
    const sums: Record<string, number> = {};
    for (const point of metric?.dataPoints ?? []) {
      sums[String(point.attributes[ATTR_EXPORTER_RESULT])] = Number(point.value);
    }
    return sums;
  }

  const fixture = queueFixtures();
  let proxy: TcpProxy;
  let writerDb: LedgerDb;
  let readerDb: LedgerDb;
  let processor: LedgerSpanProcessor;
  let spoolDirectory: string;

  before(async () => {
    proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.listen();
    const schema = uniqueSchema('outage');
    writerDb = await openLedgerDb('outage', { clientUrl: `postgresql://root@127.0.0.1:${port}/test`, schema });
    readerDb = await openLedgerDb('outage', { schema });
    await migrateLedger(readerDb.orm);
    spoolDirectory = mkdtempSync(path.join(os.tmpdir(), 'bl-spool-'));
    processor = new LedgerSpanProcessor(new LedgerSpanExporter({ orm: writerDb.orm, writeTimeoutMs: 2000 }), {
      flushIntervalMs: 50,
      initialRetryDelayMs: 50,
      maxRetryDelayMs: 400,
      spool: { directory: spoolDirectory },
      meterProvider,
    });
    sampler.current = new LedgerSampler(new AlwaysOnSampler());
    extraProcessor.current = [processor];
  });

  after(async () => {
    extraProcessor.current = [];
    await processor.shutdown();
    await writerDb.orm.close(true);
    await readerDb.close();
    await proxy.close();
    rmSync(spoolDirectory, { recursive: true, force: true });
    await meterProvider.shutdown();
  });

  async function finalRecords(queueName: string): Promise<number> {
    return readerDb.orm.em.fork().count(WorkerJobRecord, { queueName, final: true });
  }

  it('keeps processing jobs while the database is down, and writes every row once it is back', async () => {
    const q = fixture('outage');
    const completed: string[] = [];
    const worker = q.worker(async () => 'ok', { concurrency: 10 });
    worker.on('completed', (job) => completed.push(job.id ?? ''));

    const beforeStarted = Date.now();
    await q.queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'before', data: { i } })));
    await waitFor(() => completed.length === 200, { timeoutMs: 20_000, what: 'the first 200 jobs' });
    const beforeMs = Date.now() - beforeStarted;
    await waitFor(async () => (await finalRecords(q.name)) === 200, { timeoutMs: 20_000, what: 'the first 200 rows' });

    proxy.cut();
    const outageStarted = Date.now();
    await q.queue.addBulk(Array.from({ length: 500 }, (_, i) => ({ name: 'during', data: { i } })));
    // Every job of the outage completes while the database is still unreachable: nothing waits on it.
    await waitFor(() => completed.length === 700, { timeoutMs: 20_000, what: 'the jobs added during the outage' });
    const outageMs = Date.now() - outageStarted;
    await waitFor(() => processor.counters().spilled > 0, { what: 'rows to reach the spool' });
    const during = processor.counters();
    expect(during.retried).to.be.greaterThan(0);
    expect(during.dropped).to.equal(0);
    expect(await finalRecords(q.name)).to.equal(200);
    console.log(
      `      (200 jobs in ${beforeMs} ms with the database up; 500 jobs in ${outageMs} ms with it down;` +
        ` ${during.spilled} rows spilled)`,
    );
    // Throughput unaffected: a wide margin, for a shared CI machine (rates measured on small runs).
    expect(500 / outageMs).to.be.at.least(200 / beforeMs / 3);

    proxy.restore();
    await waitFor(async () => (await finalRecords(q.name)) === 700, {
      timeoutMs: 30_000,
      what: 'all 700 rows after the database is back',
    });
    await waitFor(() => processor.counters().pending === 0, { what: 'nothing pending' });
    expect(processor.counters().dropped).to.equal(0);
    // The pipeline's own health, as a metric: the same counts.
    const { written, retried, spilled } = processor.counters();
    expect(await recordsMetric()).to.deep.equal({ written, retried, spilled });
    expect(written).to.be.at.least(700);
  });
});
