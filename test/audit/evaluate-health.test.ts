import { expect } from 'chai';
import { evaluateHealth, LedgerQueries, reliabilityScore } from '../../audit';
import { judgementMoment } from '../../audit/evaluate-health';
import type { HealthReport, QueueHealth } from '../../audit';
import { windowMs } from '../../audit/health-thresholds';
import { migrateLedger } from '../../schema';
import {
  attemptEnding,
  fastBurnQueue,
  healthyQueue,
  HOUR,
  MINUTE,
  quietQueue,
  slowBurnQueue,
  spread,
  writeRows,
} from '../helpers/health-ledger';
import type { Worker } from '../helpers/health-ledger';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { DATABASE_URL } from '../helpers/postgres';

function queueOf(report: HealthReport, name: string): QueueHealth {
  const queue = report.queues.find((q) => q.queueName === name);
  if (queue === undefined)
    throw new Error(`no queue ${name} in the report: ${report.queues.map((q) => q.queueName).join(', ')}`);
  return queue;
}

describe('evaluateHealth on seeded ledgers', () => {
  describe('queues: the alert rules applied to the ledger', () => {
    let db: LedgerDb;
    const now = Date.now();
    let report: HealthReport;

    before(async () => {
      db = await openLedgerDb('health_queues');
      await migrateLedger(db.orm);
      await writeRows(db.orm, [
        ...healthyQueue('healthy', now),
        ...fastBurnQueue('fast', now),
        ...slowBurnQueue('slow', now),
        ...quietQueue('quiet', now, 0),
        ...quietQueue('quiet-2', now, 2),
        ...quietQueue('quiet-3', now, 3),
      ]);
      report = await evaluateHealth({ orm: db.orm }, { now, until: new Date(now) });
    });
    after(() => db.close());

    it('finds a healthy queue healthy', () => {
      const healthy = queueOf(report, 'healthy');
      expect(healthy.state).to.equal('healthy');
      expect(healthy.conditions.every((c) => c.enoughTraffic && !c.holds)).to.equal(true);
      expect(healthy.range).to.deep.include({ failedJobs: 0, failureRatio: 0, burnRate: 0, errorBudgetLeft: 1 });
    });

    it('finds a queue burning its budget fast critical, by the fast page condition', () => {
      const fast = queueOf(report, 'fast');
      expect(fast.state).to.equal('critical');
      expect(fast.conditions[0]).to.deep.include({ severity: 'page', long: '1h', short: '5m', holds: true });
      expect(fast.windows.find((w) => w.window === '1h')).to.deep.include({ finishedJobs: 130, failedJobs: 30 });
      const fiveMinutes = fast.windows.find((w) => w.window === '5m');
      expect(fiveMinutes).to.deep.include({ finishedJobs: 30, failedJobs: 30, failureRatio: 1 });
      expect(fiveMinutes?.burnRate).to.be.closeTo(100, 1e-9);
      expect(fast.reason).to.match(/^burn rate 23\.1x over 1h and 100x over 5m \(pages from 14\.4x\)$/);
      // The range (the last hour): 30 of 130 failed, 23 times the budget's rate.
      expect(fast.range.finishedJobs).to.equal(130);
      expect(fast.range.errorBudgetLeft).to.be.closeTo(1 - 30 / 130 / 0.01, 1e-6);
    });

    it('finds a slow burn degraded by the ticket condition, with no page', () => {
      const slow = queueOf(report, 'slow');
      expect(slow.state).to.equal('degraded');
      expect(slow.conditions.filter((c) => c.holds).map((c) => c.severity)).to.deep.equal(['ticket']);
      expect(slow.windows.find((w) => w.window === '3d')).to.deep.include({ finishedJobs: 2000, failedJobs: 40 });
      expect(slow.reason).to.match(/over 3d .* over 6h \(a ticket from 1x\)$/);
    });

    it('cannot judge a low-traffic queue, unless 3 jobs failed for good in 15 minutes', () => {
      expect(queueOf(report, 'quiet')).to.deep.include({ state: 'unknown' });
      expect(queueOf(report, 'quiet').reason).to.equal('too little traffic to judge: 10 final jobs in 3d (needs 20)');
      expect(queueOf(report, 'quiet-2').state).to.equal('unknown');
      expect(queueOf(report, 'quiet-2').lowTraffic).to.deep.include({ failedJobs: 2, lowTraffic: true, holds: false });
      const three = queueOf(report, 'quiet-3');
      expect(three.state).to.equal('degraded');
      expect(three.lowTraffic).to.deep.equal({
        window: '15m',
        failedJobs: 3,
        trafficWindow: '1h',
        lowTraffic: true,
        holds: true,
      });
      expect(three.conditions.some((c) => c.enoughTraffic)).to.equal(false);
    });

    it('reports the worst state, and every queue by name', async () => {
      expect(report.state).to.equal('critical');
      expect(report.queues.map((q) => q.queueName)).to.deep.equal([
        'fast',
        'healthy',
        'quiet',
        'quiet-2',
        'quiet-3',
        'slow',
      ]);
      expect(report.until.getTime()).to.equal(now);
      expect(report.since.getTime()).to.equal(now - HOUR);
      // By default judged at the end of the current minute, as the dashboard's badges are.
      const byDefault = await evaluateHealth({ orm: db.orm }, { now });
      expect(byDefault.until.getTime()).to.equal(judgementMoment(now).getTime());
      expect(byDefault.until.getTime() - now).to.be.within(1, 60_000);
      expect(byDefault.state).to.equal('critical');
      expect(report.slo).to.equal(0.99);
    });

    it('reads the same counts as the rollup-backed queue stats, for every window and the range', async () => {
      const queries = new LedgerQueries(db.orm);
      const until = new Date(now);
      for (const queue of report.queues) {
        for (const window of queue.windows) {
          const stats = await queries.queueStats(queue.queueName, {
            since: new Date(now - windowMs(window.window)),
            until,
          });
          expect(
            { finished: window.finishedJobs, failed: window.failedJobs },
            `${queue.queueName} ${window.window}`,
          ).to.deep.equal({ finished: stats.completedJobs + stats.failedJobs, failed: stats.failedJobs });
        }
        const range = await queries.queueStats(queue.queueName, { since: report.since, until });
        expect(queue.range.finishedJobs).to.equal(range.completedJobs + range.failedJobs);
        expect(queue.range.failedJobs).to.equal(range.failedJobs);
      }
    });

    it('judges at until, and reports the numbers of [since, until)', async () => {
      // Two days ago: only the slow burn and the healthy queue's old failure had run by then.
      const earlier = await evaluateHealth(
        { orm: db.orm },
        { since: new Date(now - 72 * HOUR), until: new Date(now - 47 * HOUR), now },
      );
      expect(earlier.queues.map((q) => q.queueName)).to.deep.equal(['healthy', 'slow']);
      expect(queueOf(earlier, 'healthy').range).to.deep.include({ finishedJobs: 1, failedJobs: 1, failureRatio: 1 });
      expect(queueOf(earlier, 'healthy').state).to.equal('unknown');
      // A looser objective: the slow burn's 2% is within a 5% budget, the fast burn's 23% no page (4.6x).
      const lenient = await evaluateHealth({ orm: db.orm }, { now, until: new Date(now), slo: 0.95 });
      expect(queueOf(lenient, 'slow').state).to.equal('healthy');
      expect(queueOf(lenient, 'fast').state).to.equal('degraded');
      // The options may come in the one object, as `evaluateHealth({ orm, since, slo })`.
      const oneObject = await evaluateHealth({
        orm: db.orm,
        since: new Date(now - 72 * HOUR),
        until: new Date(now),
        slo: 0.95,
        now,
      });
      expect(oneObject.since.getTime()).to.equal(now - 72 * HOUR);
      expect(oneObject.slo).to.equal(0.95);
      expect(queueOf(oneObject, 'slow').state).to.equal('healthy');
      expect(queueOf(oneObject, 'fast').state).to.equal('degraded');
    });

    it('opens its own connection from a clientUrl, and closes it', async () => {
      const viaUrl = await evaluateHealth(
        { clientUrl: DATABASE_URL, schema: db.schema },
        { now, until: new Date(now) },
      );
      expect(JSON.parse(JSON.stringify(viaUrl))).to.deep.equal(JSON.parse(JSON.stringify(report)));
    });

    it('says what to fix when the options are wrong, before asking the database', async () => {
      const orm = db.orm;
      const cases: Array<[() => Promise<unknown>, ErrorConstructor, RegExp]> = [
        [() => evaluateHealth({ orm }, { slo: 1 }), RangeError, /slo must be a number between 0 and 1, exclusive/],
        [() => evaluateHealth({ orm }, { slo: 0 }), RangeError, /slo must be .* got 0/],
        [() => evaluateHealth({ orm }, { slo: Number.NaN }), RangeError, /got NaN/],
        [
          () => evaluateHealth({ orm }, { since: new Date(now), until: new Date(now - 1) }),
          RangeError,
          /since \(.*\) is after until \(.*\); give a since before until/,
        ],
        [() => evaluateHealth({ orm }, { since: new Date('nope') }), TypeError, /since must be a valid Date/],
        [
          () => evaluateHealth(JSON.parse('{}') as { orm: typeof orm }),
          TypeError,
          /needs \{ orm \} .* or \{ clientUrl: 'postgresql:\/\/\.\.\.' \}/,
        ],
        [() => evaluateHealth(JSON.parse('null') as { orm: typeof orm }), TypeError, /needs \{ orm \}/],
        [
          // As from JavaScript, where nothing checks the keys before the call.
          () => evaluateHealth(Object.assign({ orm }, { sice: 1, SLO: 0.9 })),
          TypeError,
          /does not know "sice", "SLO"; it takes orm or clientUrl \(and schema\), since, until, slo and now/,
        ],
        [() => evaluateHealth({ orm, slo: 2 }), RangeError, /slo must be a number between 0 and 1/],
        [
          () => evaluateHealth({ orm, clientUrl: DATABASE_URL } as unknown as { orm: typeof orm }),
          TypeError,
          /either orm or clientUrl, not both/,
        ],
      ];
      for (const [run, type, message] of cases) {
        const err: unknown = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, String(message)).to.be.instanceOf(type);
        expect((err as Error).message).to.match(message);
      }
    });

    it('says what to check when the database does not answer', async () => {
      const err: unknown = await evaluateHealth({ clientUrl: 'postgresql://postgres@127.0.0.1:1/x' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.match(
        /^bullmq-ledger: cannot read the ledger's health \(.+\); check that PostgreSQL answers/,
      );
    });
  });

  describe('workers: one bad worker among good ones', () => {
    let db: LedgerDb;
    const now = Date.now();
    const good: Worker[] = [1, 2, 3].map((n) => ({ service: 'mailer', host: `good-${n}`, pid: 100 + n }));
    const bad: Worker = { service: 'mailer', host: 'bad-1', pid: 666 };
    let report: HealthReport;

    before(async () => {
      db = await openLedgerDb('health_workers');
      await migrateLedger(db.orm);
      const window = { now, fromAgo: 50 * MINUTE, toAgo: 5 * MINUTE };
      const rows = good.flatMap((worker) => [
        ...spread('work', worker.host, 60, () => 'completed', { ...window, worker }),
        attemptEnding('work', `${worker.host}-timeout`, 'retry', now - 30 * MINUTE, { worker, errorName: 'Timeout' }),
      ]);
      const badOutcomes = [
        ...Array.from({ length: 20 }, () => ['completed', 'Error'] as const),
        ...Array.from({ length: 12 }, () => ['failed', 'TypeError'] as const),
        ...Array.from({ length: 6 }, () => ['retry', 'Timeout'] as const),
        ...Array.from({ length: 2 }, () => ['stalled', 'Error'] as const),
      ];
      badOutcomes.forEach(([outcome, errorName], i) => {
        rows.push(
          attemptEnding('work', `bad-${i}`, outcome, now - 45 * MINUTE + i * 30_000, { worker: bad, errorName }),
        );
      });
      // Attempts before the range do not count.
      rows.push(attemptEnding('work', 'long-ago', 'failed', now - 3 * HOUR, { worker: good[0], errorName: 'Old' }));
      await writeRows(db.orm, rows);
      report = await evaluateHealth({ orm: db.orm }, { now, until: new Date(now) });
    });
    after(() => db.close());

    it('ranks the bad worker least reliable, with its failures by error name', () => {
      expect(report.workers).to.have.length(4);
      const [worst, ...rest] = report.workers;
      expect(worst).to.deep.include({
        serviceName: 'mailer',
        hostName: 'bad-1',
        processPid: 666,
        attempts: 40,
        failures: 20,
        stalled: 2,
        failureRatio: 0.5,
        reliability: reliabilityScore(20, 40),
      });
      expect(worst?.failuresByError).to.deep.equal([
        { errorName: 'TypeError', failures: 12 },
        { errorName: 'Timeout', failures: 6 },
        { errorName: 'Stalled', failures: 2 },
      ]);
      expect(worst?.lastSeen?.getTime()).to.equal(now - 45 * MINUTE + 39 * 30_000);
      for (const worker of rest) {
        expect(worker).to.deep.include({ attempts: 61, failures: 1, reliability: reliabilityScore(60, 61) });
        expect(worker.failuresByError).to.deep.equal([{ errorName: 'Timeout', failures: 1 }]);
        expect(worker.reliability).to.be.greaterThan(worst?.reliability ?? 1);
      }
    });

    it('counts each worker as the worker stats do, and its failures by name add up', async () => {
      const stats = await new LedgerQueries(db.orm).workerStats({ since: report.since, until: report.until });
      for (const worker of report.workers) {
        const same = stats.find((s) => s.hostName === worker.hostName && s.processPid === worker.processPid);
        expect(same).to.deep.include({ attempts: worker.attempts, failures: worker.failures, stalled: worker.stalled });
        expect(worker.failuresByError.reduce((sum, e) => sum + e.failures, 0)).to.equal(worker.failures);
      }
    });

    it('takes in older attempts when the range does', async () => {
      const day = await evaluateHealth({ orm: db.orm }, { now, since: new Date(now - 24 * HOUR) });
      const first = day.workers.find((w) => w.hostName === 'good-1');
      expect(first?.failuresByError).to.deep.include({ errorName: 'Old', failures: 1 });
    });
  });
});
