import { expect } from 'chai';
import { LedgerQueries, reconcile } from '../../audit';
import type { ReconcilableQueue } from '../../audit';
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

/** Adds a job that fails once and then waits out a long backoff in `delayed`, and runs a worker until it failed. */
async function failOnceAndWait(q: QueueFixture): Promise<void> {
  await q.queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 600_000 } });
  let failed = 0;
  const worker = q.worker(() => Promise.reject(new Error('flaky failed')));
  worker.on('failed', () => failed++);
  await waitFor(() => failed === 1, { what: 'the first attempt to fail' });
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

  it('misses no job while a worker takes jobs from the queue it reads', async () => {
    const q = fixture('reconcile-consumed');
    extraProcessor.current = [];
    try {
      const names = Array.from({ length: 20 }, (_, i) => `j${i}`);
      await q.queue.addBulk(names.map((name) => ({ name, data: {} })));
      // A worker without the ledger, held back until reconciliation has read its first page of
      // waiting jobs; its limiter lets it take exactly `taken` jobs (the oldest), then no more.
      const taken = 5;
      const worker = q.worker(() => Promise.resolve('ok'), {
        autorun: false,
        limiter: { max: taken, duration: 600_000 },
      });
      let completed = 0;
      const done = new Promise<void>((resolve) => {
        worker.on('completed', () => {
          if (++completed === taken) resolve();
        });
      });
      let waitingPages = 0;
      const queue: ReconcilableQueue = {
        name: q.name,
        getJobCounts: (...types) => q.queue.getJobCounts(...types),
        async getJobs(types, start, end, asc) {
          const jobs = await q.queue.getJobs(types, start, end, asc);
          if (types.includes('waiting') && waitingPages++ === 0) {
            void worker.run();
            await done;
          }
          return jobs;
        },
      };
      const result = await reconcile({ orm: ledger.db.orm, queue, pageSize: 3 });

      expect(await q.queue.getJobCounts('waiting', 'active', 'completed')).to.deep.equal({
        waiting: 20 - taken,
        active: 0,
        completed: taken,
      });
      const records = await ledger.records(q.name);
      expect(records.map((record) => record.jobName).sort()).to.deep.equal([...names].sort());
      const byName = new Map(records.map((record) => [record.jobName, record]));
      for (const [i, name] of names.entries()) {
        expect(byName.get(name), name).to.deep.include(
          i < taken ? { status: 'COMPLETED', final: true } : { status: 'PENDING', final: false },
        );
      }
      expect(result).to.deep.include({ scanned: 20, inserted: 20 });
    } finally {
      extraProcessor.current = [ledger.processor, ledger.recorded];
    }
  });

  it('counts a job retrying after a failed attempt where its spans would have', async () => {
    // The same job on two queues: one with the ledger on, whose spans write its failed attempt,
    // the other with it off, reconciled.
    const spanned = fixture('reconcile-retry-spans');
    await failOnceAndWait(spanned);
    const [spanRecord] = await ledger.waitForRecords(spanned.name, 1, (record) => record.status === 'FAILED');
    const q = fixture('reconcile-retry');
    extraProcessor.current = [];
    try {
      await failOnceAndWait(q);
    } finally {
      extraProcessor.current = [ledger.processor, ledger.recorded];
    }
    const [job] = await q.queue.getJobs(['delayed']);
    expect(job, 'the job waiting out its backoff').to.not.equal(undefined);

    expect(await reconcile({ orm: ledger.db.orm, queue: q.queue })).to.deep.include({ scanned: 1, inserted: 1 });
    const [record] = await ledger.records(q.name);
    expect(record).to.deep.include({
      status: 'FAILED',
      final: false,
      outcome: 'retry',
      attempt: 1,
      retryCount: 0,
      // BullMQ keeps no end time for a retried attempt: its start stands in.
      completedAt: new Date(job?.processedOn ?? Number.NaN),
    });
    expect(record?.errorDetails).to.deep.include({ message: 'flaky failed' });

    const queries = new LedgerQueries(ledger.db.orm);
    const stats = await queries.queueStats(q.name);
    expect(stats).to.deep.include({ totalJobs: 1, retryingJobs: 1, retriedAttempts: 1 });
    expect({ ...stats, queueName: spanned.name }).to.deep.equal(await queries.queueStats(spanned.name));
    for (const queue of [q.name, spanned.name]) {
      const failures = await queries.recentFailures({ queue, includeRetrying: true });
      expect(
        failures.map(({ jobName, status, final }) => ({ jobName, status, final })),
        queue,
      ).to.deep.equal([{ jobName: 'flaky', status: 'FAILED', final: false }]);
      expect(await queries.recentFailures({ queue }), queue).to.deep.equal([]);
    }
    await expectRollupsMatchLedger(ledger.db);

    // Where the spans wrote the same attempt, the ledger's row is kept as it is.
    expect(await reconcile({ orm: ledger.db.orm, queue: spanned.queue })).to.deep.include({ unchanged: 1 });
    const [kept] = await ledger.records(spanned.name);
    expect(kept).to.deep.include({ completedAt: spanRecord?.completedAt, traceId: spanRecord?.traceId });
  });
});
