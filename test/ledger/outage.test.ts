import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from '../../exporter';
import { migrateLedger, WorkerJobRecord } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { extraProcessor, sampler } from '../helpers/otel';
import { uniqueSchema } from '../helpers/postgres';
import { queueFixtures } from '../helpers/queues';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

describe('the ledger database unreachable for a while', () => {
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
  });

  async function finalRecords(queueName: string): Promise<number> {
    return readerDb.orm.em.fork().count(WorkerJobRecord, { queueName, final: true });
  }

  it('keeps processing jobs while the database is down, and writes every row once it is back', async () => {
    const q = fixture('outage');
    const completed: string[] = [];
    const worker = q.worker(async () => 'ok', { concurrency: 10 });
    worker.on('completed', (job) => completed.push(job.id ?? ''));

    await q.queue.addBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'before', data: { i } })));
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
      `      (500 jobs completed in ${outageMs} ms with the ledger database down; ${during.spilled} rows spilled)`,
    );

    proxy.restore();
    await waitFor(async () => (await finalRecords(q.name)) === 700, {
      timeoutMs: 30_000,
      what: 'all 700 rows after the database is back',
    });
    await waitFor(() => processor.counters().pending === 0, { what: 'nothing pending' });
    expect(processor.counters().dropped).to.equal(0);
  });
});
