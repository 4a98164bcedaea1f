import { expect } from 'chai';
import { LedgerQueries } from '../../audit';
import type { QueueStats, WorkerStats } from '../../audit';
import { prepareBatch } from '../../exporter/ledger-batch';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { ledgerHistory, random, shuffled } from '../helpers/ledger-history';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Noon UTC five days ago: the history's 3 days and the open-ended windows are all in the past. */
const START = Math.floor(Date.now() / DAY) * DAY - 5 * DAY + 12 * HOUR;
const BUCKET = 2 ** 0.25;

type Row = Record<string, unknown>;

/**
 * Windows over the 3 days of history (START is noon UTC, so days start at +12 h,
 * +36 h and +60 h): ends anywhere, on hour and day boundaries, inside one
 * hour, across whole days, empty, and open-ended.
 */
function windows(): Array<{ since: Date; until?: Date }> {
  const next = random(5);
  const at = (ms: number): Date => new Date(START + ms);
  const list: Array<{ since: Date; until?: Date }> = [
    { since: at(-HOUR), until: at(80 * HOUR) },
    { since: at(HOUR), until: at(4 * HOUR) },
    { since: at(12 * HOUR), until: at(60 * HOUR) },
    { since: at(11 * HOUR + 1), until: at(61 * HOUR - 1) },
    { since: at(HOUR + 600_000), until: at(HOUR + 1_800_000) },
    { since: at(2 * HOUR - 60_000), until: at(2 * HOUR + 60_000) },
    { since: at(3 * HOUR), until: at(3 * HOUR) },
    { since: at(2 * HOUR + 123_456) },
    { since: at(30 * HOUR + 123_456) },
    { since: at(-5 * HOUR) },
  ];
  for (let i = 0; i < 30; i++) {
    const since = Math.floor(next() * 76 * HOUR) - HOUR;
    list.push({ since: at(since), until: at(since + Math.floor(next() * (i % 2 === 0 ? 6 : 60) * HOUR)) });
  }
  return list;
}

describe('stats over any window: rollups for whole hours, rows for the rest', () => {
  let db: LedgerDb;
  let queries: LedgerQueries;
  before(async () => {
    db = await openLedgerDb('windows');
    await migrateLedger(db.orm);
    const writer = new LedgerWriter(db.orm);
    const history = shuffled(ledgerHistory(1200, 3, 72, START), 4);
    for (let start = 0; start < history.length; start += 100) {
      await writer.write(prepareBatch(history.slice(start, start + 100)));
    }
    queries = new LedgerQueries(db.orm);
  });
  after(() => db.close());

  async function rows(sql: string, params: unknown[]): Promise<Row[]> {
    return db.orm.em.getConnection().execute<Row[]>(sql, params);
  }

  it('gives the counts and averages a count over the records gives, and percentiles within one bucket', async () => {
    const s = `"${db.schema}"`;
    let compared = 0;
    for (const window of windows()) {
      const until = window.until ?? new Date('9999-01-01T00:00:00Z');
      const expected = await rows(
        `select queue_name, count(*)::int as total, count(*) filter (where status = 'COMPLETED')::int as completed,
          count(*) filter (where status = 'FAILED' and final)::int as failed,
          count(*) filter (where status = 'FAILED' and not final)::int as retrying,
          count(*) filter (where status = 'PENDING')::int as pending,
          sum(retry_count + case when status = 'FAILED' and not final then 1 else 0 end)::int as retried,
          avg(duration_ms) filter (where final) as average,
          percentile_cont(array[0.5, 0.95, 0.99]) within group (order by duration_ms) filter (where final) as percentiles
        from ${s}.worker_job_records
        where (completed_at >= ? and completed_at < ?)
          or (completed_at is null and status = 'PENDING' and enqueued_at >= ? and enqueued_at < ?)
        group by queue_name order by queue_name`,
        [window.since, until, window.since, until],
      );
      const actual = await queries.allQueueStats(window);
      const label = `${window.since.toISOString()} to ${window.until?.toISOString() ?? 'now'}`;
      expect(
        actual.map((stats: QueueStats) => [
          stats.queueName,
          stats.totalJobs,
          stats.completedJobs,
          stats.failedJobs,
          stats.retryingJobs,
          stats.pendingJobs,
          stats.retriedAttempts,
        ]),
        label,
      ).to.deep.equal(
        expected.map((row) => [
          row.queue_name,
          row.total,
          row.completed,
          row.failed,
          row.retrying,
          row.pending,
          row.retried,
        ]),
      );
      for (const [i, row] of expected.entries()) {
        const stats = actual[i];
        if (stats === undefined) continue;
        if (row.average === null) {
          expect(stats.averageDurationMs, label).to.equal(null);
          continue;
        }
        expect(stats.averageDurationMs, label).to.be.closeTo(Number(row.average), 1e-6);
        const [p50, p95, p99] = (row.percentiles as number[]).map(Number);
        for (const [estimate, exact] of [
          [stats.p50DurationMs, p50],
          [stats.p95DurationMs, p95],
          [stats.p99DurationMs, p99],
        ] as const) {
          expect(estimate, label).to.be.within((exact ?? 0) / BUCKET, (exact ?? 0) * BUCKET);
        }
        compared++;
      }
    }
    expect(compared, 'windows with finished jobs').to.be.greaterThan(40);
  });

  it('gives each worker the attempts, failures, stalls and last sighting the attempts give', async () => {
    const s = `"${db.schema}"`;
    for (const window of windows()) {
      const until = window.until ?? new Date('9999-01-01T00:00:00Z');
      const expected = await rows(
        `select service_name, host_name, process_pid, count(*)::int as attempts,
          count(*) filter (where outcome in ('retry', 'failed', 'stalled'))::int as failures,
          count(*) filter (where outcome = 'stalled')::int as stalled, max(ended_at) as last_seen
        from ${s}.worker_job_attempts where started_at >= ? and started_at < ?
        group by 1, 2, 3 order by 3, 2`,
        [window.since, until],
      );
      const actual = (await queries.workerStats(window)).sort(
        (a: WorkerStats, b: WorkerStats) =>
          (a.processPid ?? 0) - (b.processPid ?? 0) || String(a.hostName).localeCompare(String(b.hostName)),
      );
      expect(
        actual.map((w) => [w.serviceName, w.hostName, w.processPid, w.attempts, w.failures, w.stalled, w.lastSeen]),
        `${window.since.toISOString()} to ${window.until?.toISOString() ?? 'now'}`,
      ).to.deep.equal(
        expected.map((row) => [
          row.service_name,
          row.host_name,
          row.process_pid,
          row.attempts,
          row.failures,
          row.stalled,
          typeof row.last_seen === 'string' ? new Date(row.last_seen) : null,
        ]),
      );
    }
  });

  it('counts final outcomes of several windows ending together as a count over the records does', async () => {
    const s = `"${db.schema}"`;
    let compared = 0;
    for (const window of windows()) {
      if (window.until === undefined) continue;
      const until = window.until;
      // The window, one ending at the same moment 7 hours longer (days, hours and edges of its own), and an empty one.
      const sinces = [window.since, new Date(window.since.getTime() - 7 * HOUR - 61_000), until];
      const actual = await queries.finalOutcomesByWindow(until, sinces);
      for (const [w, since] of sinces.entries()) {
        const expected = await rows(
          `select queue_name, count(*) filter (where status = 'COMPLETED')::int as completed,
            count(*) filter (where status = 'FAILED' and final)::int as failed
          from ${s}.worker_job_records where completed_at >= ? and completed_at < ?
          group by queue_name having count(*) filter (where status = 'COMPLETED' or (status = 'FAILED' and final)) > 0
          order by queue_name`,
          [since, until],
        );
        const label = `${since.toISOString()} to ${until.toISOString()}`;
        expect(
          [...actual]
            .map(([queue, counts]) => [queue, counts[w]?.completedJobs, counts[w]?.failedJobs])
            .filter(([, completed, failed]) => completed !== 0 || failed !== 0),
          label,
        ).to.deep.equal(expected.map((row) => [row.queue_name, row.completed, row.failed]));
        compared += expected.length;
      }
    }
    expect(compared, 'queue windows with finished jobs').to.be.greaterThan(40);
  });
});
