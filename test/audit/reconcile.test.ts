import { expect } from 'chai';
import { LedgerQueries, reconcile } from '../../audit';
import { WorkerJobRecord } from '../../schema';
import { bullmq } from '../helpers/bullmq';
import { startLedgerPipeline } from '../helpers/ledger-pipeline';
import type { LedgerPipeline } from '../helpers/ledger-pipeline';
import { extraProcessor } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { expectRollupsMatchLedger } from '../helpers/rollups';
import type { QueueFixture } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

/** Runs a worker on the fixture's queue until `count` more jobs are finished for good, then closes it. */
async function processJobs(q: QueueFixture, count: number): Promise<void> {
  let finished = 0;
  const worker = q.worker(async (job) => {
    if (job.name.startsWith('fail')) throw new bullmq.UnrecoverableError(`${job.name} cannot succeed`);
    return 'ok';
  });
  worker.on('completed', () => finished++);
  worker.on('failed', () => finished++);
  await waitFor(() => finished === count, { what: `${count} jobs to finish` });
  await worker.close();
}

describe('reconcile: the ledger from what BullMQ retains', () => {
  let ledger: LedgerPipeline;
  before(async () => {
    ledger = await startLedgerPipeline('reconcile');
  });
  after(() => ledger.close());
  const fixture = queueFixtures();

  it('inserts what the ledger lacks, updates what it has older, leaves the rest, and is idempotent', async () => {
    const q = fixture('reconcile');
    const ledgerProcessors = extraProcessor.current;
    // A: added and processed with the ledger on.
    await q.queue.addBulk(['a1', 'a2', 'a3'].map((name) => ({ name, data: {} })));
    await processJobs(q, 3);
    await ledger.waitForRecords(q.name, 3);
    // B: added with the ledger on (PENDING rows), processed with it off.
    await q.queue.addBulk(['b1', 'fail-b2'].map((name) => ({ name, data: {} })));
    await ledger.waitForRecords(q.name, 2, (record) => record.status === 'PENDING');
    extraProcessor.current = [];
    await processJobs(q, 2);
    // C: added and processed with the ledger off; D: added with it off, never processed.
    await q.queue.addBulk(['c1', 'fail-c2', 'c3'].map((name) => ({ name, data: {} })));
    await processJobs(q, 3);
    await q.queue.addBulk(['d1', 'd2'].map((name) => ({ name, data: {} })));
    extraProcessor.current = ledgerProcessors;

    const progress: Array<[number, number]> = [];
    const first = await reconcile({
      orm: ledger.db.orm,
      queue: q.queue,
      pageSize: 2,
      onProgress: (read, total) => progress.push([read, total]),
    });
    expect(first).to.deep.equal({ scanned: 10, inserted: 5, updated: 2, unchanged: 3 });
    expect(progress.at(-1)).to.deep.equal([10, 10]);

    const records = await ledger.records(q.name);
    const byName = new Map(records.map((record) => [record.jobName, record]));
    expect(byName.get('b1')).to.deep.include({ status: 'COMPLETED', final: true, attempt: 1 });
    expect(byName.get('fail-b2')).to.deep.include({ status: 'FAILED', final: true });
    expect(byName.get('fail-c2')?.errorDetails).to.deep.include({
      name: 'UnrecoverableError',
      message: 'fail-c2 cannot succeed',
    });
    expect(byName.get('d1')).to.deep.include({ status: 'PENDING', attempt: 0 });
    // What the spans wrote is kept: the trace of A's attempts is still linked.
    expect(byName.get('a1')?.traceId).to.match(/^[0-9a-f]{32}$/);

    expect(await reconcile({ orm: ledger.db.orm, queue: q.queue })).to.deep.equal({
      scanned: 10,
      inserted: 0,
      updated: 0,
      unchanged: 10,
    });
    expect(await ledger.db.orm.em.fork().count(WorkerJobRecord, { queueName: q.name })).to.equal(10);
    // The stats of reconciled jobs count them like any other.
    await expectRollupsMatchLedger(ledger.db);
    expect(await new LedgerQueries(ledger.db.orm).queueStats(q.name)).to.deep.include({ totalJobs: 10 });
  });

  it('only reads jobs active since the given time', async () => {
    const q = fixture('reconcile-since');
    extraProcessor.current = [];
    try {
      await q.queue.add('old', {});
      await processJobs(q, 1);
      const since = new Date(Date.now() + 5);
      await waitFor(() => Date.now() > since.getTime(), { what: 'time to pass' });
      await q.queue.add('new', {});
      const result = await reconcile({ orm: ledger.db.orm, queue: q.queue, since });
      expect(result).to.deep.include({ scanned: 1, inserted: 1 });
    } finally {
      extraProcessor.current = [ledger.processor, ledger.recorded];
    }
  });
});
