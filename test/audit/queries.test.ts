import { expect } from 'chai';
import { LedgerQueries } from '../../audit';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows, pendingRow } from '../helpers/ledger-rows';

const HOUR = 3_600_000;

/** Sets a row's attempt to have run for `durationMs`, on a given worker, ending `endedAgoMs` ago. */
function shaped(rows: LedgerRows, durationMs: number, endedAgoMs: number, pid = 1): LedgerRows {
  const completedAt = Date.now() - endedAgoMs;
  const startedAt = completedAt - durationMs;
  return {
    record: { ...rows.record, durationMs, startedAt, completedAt },
    ...(rows.attempt === undefined
      ? {}
      : { attempt: { ...rows.attempt, durationMs, startedAt, endedAt: completedAt, processPid: pid } }),
  };
}

describe('LedgerQueries', () => {
  let db: LedgerDb;
  let queries: LedgerQueries;
  const enqueued = Date.now() - 2 * HOUR;

  before(async () => {
    db = await openLedgerDb('queries');
    await migrateLedger(db.orm);
    const rows: LedgerRows[] = [];
    // "emails": 8 completed (100..800 ms), 2 failed for good (one 10 minutes ago), 1 retrying after 4 failures, 1 pending.
    for (let i = 1; i <= 8; i++)
      rows.push(
        shaped(attemptRows('emails', `ok-${i}`, 1, 'completed', { enqueuedAt: enqueued }), i * 100, 30 * 60_000, i % 2),
      );
    rows.push(shaped(attemptRows('emails', 'bad-1', 3, 'failed', { enqueuedAt: enqueued }), 50, 10 * 60_000, 1));
    rows.push(shaped(attemptRows('emails', 'bad-2', 1, 'failed', { enqueuedAt: enqueued }), 60, 3 * HOUR, 1));
    for (let attempt = 1; attempt <= 5; attempt++) {
      rows.push(
        shaped(
          attemptRows('emails', 'stuck-1', attempt, 'retry', { enqueuedAt: enqueued }),
          10,
          (6 - attempt) * 60_000,
          1,
        ),
      );
    }
    rows.push(pendingRow('emails', 'waiting-1', Date.now() - HOUR));
    // "reports": 1 slow completed job, yesterday's one outside the default window.
    rows.push(shaped(attemptRows('reports', 'big', 1, 'completed', { enqueuedAt: enqueued }), 9000, 20 * 60_000, 2));
    rows.push(
      shaped(
        attemptRows('reports', 'old', 1, 'completed', { enqueuedAt: Date.now() - 50 * HOUR }),
        50_000,
        48 * HOUR,
        2,
      ),
    );
    await new LedgerWriter(db.orm).write(prepareBatch(rows));
    queries = new LedgerQueries(db.orm);
  });
  after(() => db.close());

  it('queueStats: counts, success rate and duration percentiles over the last 24 hours', async () => {
    const stats = await queries.queueStats('emails');
    expect(stats).to.deep.include({
      queueName: 'emails',
      totalJobs: 12,
      completedJobs: 8,
      failedJobs: 2,
      retryingJobs: 1,
      pendingJobs: 1,
      // bad-1 failed twice before its last attempt, stuck-1 five times (its newest attempt too).
      retriedAttempts: 7,
      successRate: 0.8,
    });
    // Finished jobs: 100..800 and 50, 60. The average is exact; percentiles are estimated from
    // the histogram, within a bucket (19%) of percentile_cont's 350 and 791.
    expect(stats.averageDurationMs).to.be.closeTo((3600 + 110) / 10, 1e-9);
    expect(stats.p50DurationMs).to.be.within(350 / 1.19, 350 * 1.19);
    expect(stats.p99DurationMs).to.be.within(791 / 1.19, 791 * 1.19);
  });

  it('queueStats: a queue or window without jobs gives zeros, not an error', async () => {
    expect(await queries.queueStats('nothing-here')).to.deep.include({
      totalJobs: 0,
      successRate: null,
      p95DurationMs: null,
    });
    const lastMinute = await queries.queueStats('reports', { since: new Date(Date.now() - 60_000) });
    expect(lastMinute.totalJobs).to.equal(0);
  });

  it('allQueueStats: every queue with jobs in the window', async () => {
    const all = await queries.allQueueStats({ since: new Date(Date.now() - 72 * HOUR) });
    expect(all.map((stats) => [stats.queueName, stats.totalJobs])).to.deep.equal([
      ['emails', 12],
      ['reports', 2],
    ]);
  });

  it('workerStats: attempts and failure rate per worker identity, least reliable first', async () => {
    const workers = await queries.workerStats();
    expect(workers.map((w) => [w.processPid, w.attempts, w.failures])).to.deep.equal([
      [1, 11, 7],
      [0, 4, 0],
      [2, 1, 0],
    ]);
    expect(workers[0]?.failureRate).to.be.closeTo(7 / 11, 1e-9);
    expect(workers[0]).to.include({ serviceName: 'svc', hostName: 'host' });
    expect(workers[0]?.lastSeen).to.be.instanceOf(Date);
  });

  it('slowestJobs: the longest newest attempts in the window', async () => {
    const slowest = await queries.slowestJobs({ limit: 3 });
    expect(slowest.map((job) => [job.jobId, job.durationMs])).to.deep.equal([
      ['big', 9000],
      ['ok-8', 800],
      ['ok-7', 700],
    ]);
    expect(
      (await queries.slowestJobs({ queue: 'reports', since: new Date(Date.now() - 72 * HOUR) }))[0]?.jobId,
    ).to.equal('old');
  });

  it('recentFailures: failed for good in the last hour, with errors and trace ids; retrying ones on request', async () => {
    const failures = await queries.recentFailures();
    expect(failures.map((job) => job.jobId)).to.deep.equal(['bad-1']);
    expect(failures[0]?.errorDetails).to.deep.equal({ name: 'Error', message: 'attempt 3 failed' });
    expect(failures[0]?.traceId).to.match(/^a{32}$/);
    const withRetrying = await queries.recentFailures({ includeRetrying: true });
    expect(withRetrying.map((job) => job.jobId)).to.deep.equal(['stuck-1', 'bad-1']);
  });

  it('stuckRetrying: failed, not final, with at least minRetries failed attempts, the newest included', async () => {
    expect((await queries.stuckRetrying()).map((job) => [job.jobId, job.retryCount])).to.deep.equal([['stuck-1', 4]]);
    // stuck-1 failed 5 times: 4 attempts before its newest (retryCount), and the newest.
    const listed = async (minRetries: number): Promise<string[]> =>
      (await queries.stuckRetrying({ minRetries })).map((job) => job.jobId);
    expect(await listed(5)).to.deep.equal(['stuck-1']);
    expect(await listed(6)).to.deep.equal([]);
    expect(await listed(0)).to.deep.equal(['stuck-1']);
  });

  it('jobHistory: the record and every attempt, oldest first', async () => {
    const history = await queries.jobHistory('emails', 'stuck-1');
    expect(history?.record).to.deep.include({ jobId: 'stuck-1', status: 'FAILED', attempt: 5, final: false });
    expect(history?.attempts.map((attempt) => [attempt.attempt, attempt.outcome])).to.deep.equal([
      [1, 'retry'],
      [2, 'retry'],
      [3, 'retry'],
      [4, 'retry'],
      [5, 'retry'],
    ]);
    expect(await queries.jobHistory('emails', 'no-such-job')).to.equal(undefined);
  });

  it('rejects bad arguments with a clear error', async () => {
    let error: unknown;
    try {
      await queries.queueStats('emails', { since: new Date(), until: new Date(Date.now() - HOUR) });
    } catch (err) {
      error = err;
    }
    expect(error)
      .to.be.instanceOf(RangeError)
      .with.property('message')
      .that.matches(/since .* is after until/);
    error = undefined;
    try {
      await queries.slowestJobs({ limit: 0 });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/limit must be a whole number from 1 to 10000/);
  });
});
