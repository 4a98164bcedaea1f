import { expect } from 'chai';
import { bullmq } from '../helpers/bullmq';
import { startLedgerPipeline } from '../helpers/ledger-pipeline';
import type { LedgerPipeline } from '../helpers/ledger-pipeline';
import { configureInstrumentation, processSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

describe('the ledger, end to end with real workers', () => {
  let ledger: LedgerPipeline;
  before(async () => {
    ledger = await startLedgerPipeline('pipeline');
  });
  after(() => ledger.close());
  const fixture = queueFixtures();

  it('records mixed outcomes with the right status, attempt, retries, final flag, durations and errors', async () => {
    configureInstrumentation({ resultSummary: (result) => result, metadata: (job) => ({ tenant: job.name }) });
    const q = fixture('mixed');
    const [ok, flaky, doomed, unrecoverable] = await Promise.all([
      q.queue.add('ok', {}),
      q.queue.add('flaky', {}, { attempts: 3 }),
      q.queue.add('doomed', {}, { attempts: 2 }),
      q.queue.add('unrecoverable', {}, { attempts: 5 }),
    ]);
    q.worker(async (job) => {
      if (job.name === 'flaky' && job.attemptsMade < 2) throw new TypeError(`flaky attempt ${job.attemptsMade + 1}`);
      if (job.name === 'doomed') throw new Error('always fails');
      if (job.name === 'unrecoverable') throw new bullmq.UnrecoverableError('bad input');
      return { done: job.name };
    });

    const records = await ledger.waitForRecords(q.name, 4);
    const byId = new Map(records.map((record) => [record.jobId, record]));
    expect(byId.get(ok.id ?? '')).to.deep.include({
      status: 'COMPLETED',
      attempt: 1,
      retryCount: 0,
      final: true,
      outcome: 'completed',
      jobName: 'ok',
      errorDetails: null,
      resultSummary: { done: 'ok' },
      metadata: { tenant: 'ok' },
    });
    expect(byId.get(flaky.id ?? '')).to.deep.include({
      status: 'COMPLETED',
      attempt: 3,
      retryCount: 2,
      final: true,
      errorDetails: null,
    });
    expect(byId.get(doomed.id ?? '')).to.deep.include({
      status: 'FAILED',
      attempt: 2,
      retryCount: 1,
      final: true,
      outcome: 'failed',
    });
    expect(byId.get(doomed.id ?? '')?.errorDetails).to.deep.include({ name: 'Error', message: 'always fails' });
    expect(byId.get(doomed.id ?? '')?.errorDetails?.stack).to.match(/^Error: always fails\n/);
    expect(byId.get(unrecoverable.id ?? '')).to.deep.include({ status: 'FAILED', attempt: 1, final: true });

    for (const record of records) {
      expect(record.enqueuedAt?.getTime()).to.be.a('number');
      expect(record.startedAt?.getTime()).to.be.at.least(record.enqueuedAt?.getTime() ?? Infinity);
      expect(record.completedAt?.getTime()).to.be.at.least(record.startedAt?.getTime() ?? Infinity);
      expect(record.durationMs).to.be.a('number').and.to.be.at.least(0);
      expect(record.traceId).to.match(/^[0-9a-f]{32}$/);
    }
    // The record points at the trace of its newest attempt.
    const newest = processSpans(q.name)
      .filter((span) => span.attributes['messaging.message.id'] === flaky.id)
      .at(-1);
    expect(byId.get(flaky.id ?? '')).to.include({
      traceId: newest?.spanContext().traceId,
      spanId: newest?.spanContext().spanId,
    });
  });

  it('keeps every attempt in worker_job_attempts, with the worker that ran it', async () => {
    const q = fixture('history');
    const job = await q.queue.add('flaky', {}, { attempts: 3 });
    q.worker(
      async (active) => {
        if (active.attemptsMade < 2) throw new Error(`attempt ${active.attemptsMade + 1} fails`);
        return 'ok';
      },
      { name: 'history-worker' },
    );
    await ledger.waitForRecords(q.name, 1);
    let attempts: Awaited<ReturnType<LedgerPipeline['attempts']>> = [];
    await waitFor(async () => (attempts = await ledger.attempts(q.name)).length === 3, { what: 'three attempt rows' });
    expect(attempts.map((a) => [a.jobId, a.attempt, a.outcome, a.final])).to.deep.equal([
      [job.id, 1, 'retry', false],
      [job.id, 2, 'retry', false],
      [job.id, 3, 'completed', true],
    ]);
    expect(attempts[0]?.errorDetails).to.deep.include({ name: 'Error', message: 'attempt 1 fails' });
    for (const attempt of attempts) {
      expect(attempt).to.include({ processPid: process.pid, workerName: 'history-worker' });
      expect(attempt.hostName).to.be.a('string');
      expect(attempt.serviceName).to.be.a('string');
      expect(attempt.endedAt.getTime()).to.be.at.least(attempt.startedAt.getTime());
    }
  });

  it('opens a PENDING row when a job is added, before any worker runs it', async () => {
    const q = fixture('pending');
    const [single] = [await q.queue.add('later', {}, { delay: 60_000 })];
    const bulk = await q.queue.addBulk([
      { name: 'bulk-a', data: {} },
      { name: 'bulk-b', data: {} },
    ]);
    const records = await ledger.waitForRecords(q.name, 3, (record) => record.status === 'PENDING');
    expect(records.map((record) => record.jobId).sort()).to.deep.equal(
      [single?.id, ...bulk.map((job) => job.id)].sort(),
    );
    for (const record of records) {
      expect(record).to.deep.include({ attempt: 0, final: false, startedAt: null, completedAt: null });
      expect(record.enqueuedAt?.getTime()).to.be.a('number');
    }
  });

  it('records a job moved back by a control-flow error as PENDING until it runs again', async () => {
    const q = fixture('control-flow');
    await q.queue.add('poll', {});
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    q.worker(async (job, token) => {
      if ((job.attemptsStarted ?? 0) === 1) {
        await job.moveToDelayed(Date.now() + 100, token);
        throw new bullmq.DelayedError();
      }
      await held;
      return 'done';
    });
    const [delayed] = await ledger.waitForRecords(q.name, 1, (record) => record.outcome === 'delayed');
    expect(delayed).to.deep.include({ status: 'PENDING', final: false, attempt: 1 });
    release();
    const [done] = await ledger.waitForRecords(q.name, 1);
    expect(done).to.deep.include({ status: 'COMPLETED', attempt: 1, attemptsStarted: 2 });
  });

  it('keeps a job as it is when its id is added again, before it ran and after', async () => {
    const q = fixture('same-id');
    const first = await q.queue.add('once', {}, { jobId: 'fixed-id' });
    const enqueuedAt = first.timestamp;
    // BullMQ ignores an add of an id it holds, but hands back a job stamped now: a later time.
    await waitFor(() => Date.now() > enqueuedAt, { what: 'the clock to move on' });
    const again = await q.queue.add('once', {}, { jobId: 'fixed-id' });
    expect(again.timestamp).to.be.greaterThan(enqueuedAt);
    await ledger.processor.forceFlush();
    const [pending] = await ledger.waitForRecords(q.name, 1, (record) => record.status === 'PENDING');
    expect(pending?.enqueuedAt?.getTime()).to.equal(enqueuedAt);

    q.worker(async () => 'ok');
    const [done] = await ledger.waitForRecords(q.name, 1, (record) => record.status === 'COMPLETED');
    expect(done).to.deep.include({ attempt: 1, final: true, outcome: 'completed' });
    expect(done?.enqueuedAt?.getTime()).to.equal(enqueuedAt);

    // Added again once it completed (BullMQ still holds it): the ledger keeps the completion.
    await q.queue.add('once', {}, { jobId: 'fixed-id' });
    await ledger.processor.forceFlush();
    const [after] = await ledger.records(q.name);
    expect(after).to.deep.include({ status: 'COMPLETED', attempt: 1, final: true });
    expect(after?.enqueuedAt?.getTime()).to.equal(enqueuedAt);
  });

  it('counts what it wrote', () => {
    const counters = ledger.processor.counters();
    expect(counters.written).to.be.greaterThan(0);
    expect(counters).to.include({ dropped: 0, spilled: 0 });
  });
});
