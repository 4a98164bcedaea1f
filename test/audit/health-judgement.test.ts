import { expect } from 'chai';
import {
  checkSlo,
  HEALTH_WINDOWS,
  judgeQueueHealth,
  rangeHealth,
  reliabilityScore,
  TRAFFIC_WINDOW,
  worstState,
} from '../../audit/health';
import type { FinalOutcomes, WindowOutcomes } from '../../audit/health';
import { BURN_RATE_CONDITIONS } from '../../audit/health-thresholds';
import { judgeWorkers } from '../../audit/worker-health';

type Counts = readonly [completed: number, failed: number];

/** Final outcomes per window, written `[completed, failed]`; windows left out had none. */
function windows(counts: Readonly<Partial<Record<string, Counts>>>): WindowOutcomes {
  const outcomes: Record<string, FinalOutcomes> = {};
  for (const [window, pair] of Object.entries(counts)) {
    if (pair !== undefined) outcomes[window] = { completedJobs: pair[0], failedJobs: pair[1] };
  }
  return outcomes;
}

/** The same counts in every window from `from` on (all the traffic is that recent). */
function sameFrom(from: string, pair: Counts): Record<string, Counts> {
  const start = HEALTH_WINDOWS.indexOf(from);
  return Object.fromEntries(HEALTH_WINDOWS.slice(start).map((window) => [window, pair]));
}

describe('the health judgement (pure functions)', () => {
  it('reads the windows of the alert rules, shortest first', () => {
    expect(HEALTH_WINDOWS).to.deep.equal(['5m', '15m', '30m', '1h', '6h', '3d']);
    expect(TRAFFIC_WINDOW).to.equal('1h');
    expect(BURN_RATE_CONDITIONS.map((c) => c.burnRate)).to.deep.equal([14.4, 6, 1]);
  });

  describe('burn-rate conditions at their thresholds', () => {
    // 1000 jobs in the last hour, 125 of them in the last 5 minutes; 18 failures in those 5 minutes
    // (14.4%), none in the rest of the last 30 minutes (so the 6x page over 30 minutes stays off).
    const fastBurn = (failedInHour: number): WindowOutcomes =>
      windows({
        '5m': [107, 18],
        '15m': [232, 18],
        '30m': [482, 18],
        ...sameFrom('1h', [1000 - failedInHour, failedInHour]),
      });

    it('pages at a burn rate of exactly 14.4 over 1h and 5m', () => {
      const health = judgeQueueHealth('q', fastBurn(144));
      expect(health.state).to.equal('critical');
      expect(health.conditions[0]).to.deep.include({ severity: 'page', long: '1h', short: '5m', holds: true });
      expect(health.windows.find((w) => w.window === '1h')?.burnRate).to.be.closeTo(14.4, 1e-9);
      expect(health.reason).to.equal('burn rate 14.4x over 1h and 14.4x over 5m (pages from 14.4x)');
    });

    it('does not page just under it (14.3), where the ticket condition still holds', () => {
      const health = judgeQueueHealth('q', fastBurn(143));
      expect(health.conditions.map((c) => c.holds)).to.deep.equal([false, false, true]);
      expect(health.state).to.equal('degraded');
      expect(health.reason).to.equal('burn rate 14.3x over 3d and 14.3x over 6h (a ticket from 1x)');
    });

    it('needs both windows: a burst in the short one alone does not page', () => {
      const health = judgeQueueHealth('q', windows({ '5m': [0, 10], ...sameFrom('15m', [990, 10]) }));
      expect(health.conditions.map((c) => c.holds)).to.deep.equal([false, false, true]);
      expect(health.state).to.equal('degraded');
    });

    it('pages at 6x over 6h and 30m', () => {
      const health = judgeQueueHealth(
        'q',
        windows({ '5m': [50, 0], '15m': [150, 0], '30m': [282, 18], '1h': [570, 30], ...sameFrom('6h', [2820, 180]) }),
      );
      expect(health.conditions.map((c) => c.holds)).to.deep.equal([false, true, true]);
      expect(health.state).to.equal('critical');
      expect(health.reason).to.equal('burn rate 6x over 6h and 6x over 30m (pages from 6x)');
    });

    it('opens a ticket at exactly 1x over 3d and 6h, not below', () => {
      const atBudget = judgeQueueHealth('q', windows({ '6h': [990, 10], '3d': [9900, 100] }));
      expect(atBudget.state).to.equal('degraded');
      const under = judgeQueueHealth('q', windows({ '6h': [990, 10], '3d': [9901, 99] }));
      expect(under.state).to.equal('healthy');
      expect(under.reason).to.equal('no condition holds: burn rate 0.99x over 3d');
    });

    it('needs 20 final jobs in the long window: 20 pages, 19 falls to the low-traffic guard', () => {
      const counts = (jobs: number): WindowOutcomes =>
        windows({ '5m': [2, 3], '15m': [5, 3], '30m': [10, 3], ...sameFrom('1h', [jobs - 3, 3]) });
      const twenty = judgeQueueHealth('q', counts(20));
      expect(twenty.conditions.map((c) => [c.enoughTraffic, c.holds])).to.deep.equal([
        [true, true],
        [true, true],
        [true, true],
      ]);
      expect(twenty.state).to.equal('critical');
      expect(twenty.lowTraffic).to.deep.include({ lowTraffic: false, holds: false });
      const nineteen = judgeQueueHealth('q', counts(19));
      expect(nineteen.conditions.map((c) => [c.enoughTraffic, c.holds])).to.deep.equal([
        [false, false],
        [false, false],
        [false, false],
      ]);
      expect(nineteen.state).to.equal('degraded');
      expect(nineteen.reason).to.equal('low traffic (19 final jobs in 1h, under 20): 3 final failures in 15m (from 3)');
    });
  });

  describe('the low-traffic guard', () => {
    const quiet = (failedIn15m: number): WindowOutcomes =>
      windows({ '5m': [0, 1], '15m': [2, failedIn15m], ...sameFrom('30m', [8, failedIn15m]) });

    it('makes 3 final failures in 15 minutes degraded', () => {
      const health = judgeQueueHealth('q', quiet(3));
      expect(health.state).to.equal('degraded');
      expect(health.lowTraffic).to.deep.equal({
        window: '15m',
        failedJobs: 3,
        trafficWindow: '1h',
        lowTraffic: true,
        holds: true,
      });
    });

    it('leaves 2 unknown: too little traffic to judge', () => {
      const health = judgeQueueHealth('q', quiet(2));
      expect(health.state).to.equal('unknown');
      expect(health.lowTraffic.holds).to.equal(false);
      expect(health.reason).to.equal('too little traffic to judge: 10 final jobs in 3d (needs 20)');
    });

    it('does not apply with 20 final jobs in the hour: 3 failures of 100 are within the 6h and 3d budgets', () => {
      const health = judgeQueueHealth(
        'q',
        windows({ '15m': [22, 3], '30m': [47, 3], '1h': [97, 3], '6h': [597, 3], '3d': [9997, 3] }),
      );
      expect(health.lowTraffic).to.deep.include({ lowTraffic: false, holds: false });
      expect(health.state).to.equal('healthy');
    });

    it('judges a queue whose traffic fits only the longer windows, without the guard', () => {
      const health = judgeQueueHealth('q', windows({ '6h': [12, 0], '3d': [40, 0] }));
      expect(health.conditions.map((c) => c.enoughTraffic)).to.deep.equal([false, false, true]);
      expect(health.state).to.equal('healthy');
    });
  });

  it('gives a queue with no job unknown, with null ratios', () => {
    const health = judgeQueueHealth('idle', {});
    expect(health.state).to.equal('unknown');
    expect(health.windows).to.have.length(HEALTH_WINDOWS.length);
    expect(
      health.windows.every((w) => w.finishedJobs === 0 && w.failureRatio === null && w.burnRate === null),
    ).to.equal(true);
    expect(health.range).to.deep.equal({
      finishedJobs: 0,
      failedJobs: 0,
      failureRatio: null,
      burnRate: null,
      errorBudgetLeft: null,
    });
  });

  it('gives the range its burn rate and the error budget left, negative when overspent', () => {
    expect(rangeHealth({ completedJobs: 995, failedJobs: 5 }).errorBudgetLeft).to.be.closeTo(0.5, 1e-9);
    expect(rangeHealth({ completedJobs: 990, failedJobs: 10 }).errorBudgetLeft).to.be.closeTo(0, 1e-9);
    const overspent = rangeHealth({ completedJobs: 90, failedJobs: 10 });
    expect(overspent.burnRate).to.be.closeTo(10, 1e-9);
    expect(overspent.errorBudgetLeft).to.be.closeTo(-9, 1e-9);
    expect(rangeHealth({ completedJobs: 90, failedJobs: 10 }, 0.5).errorBudgetLeft).to.be.closeTo(0.8, 1e-9);
  });

  it('refuses an objective outside (0, 1) with what it should be', () => {
    for (const slo of [0, 1, -0.5, 99, Number.NaN]) {
      expect(() => judgeQueueHealth('q', {}, undefined, slo)).to.throw(
        RangeError,
        /slo must be a number between 0 and 1, exclusive \(0\.99: 99% of jobs complete\)/,
      );
    }
    expect(() => checkSlo('0.99')).to.throw(RangeError, /got 0\.99/);
    expect(checkSlo(0.999)).to.equal(0.999);
  });

  it('takes the worst state: critical, degraded, healthy, then unknown', () => {
    expect(worstState([])).to.equal('unknown');
    expect(worstState(['unknown', 'healthy'])).to.equal('healthy');
    expect(worstState(['healthy', 'degraded', 'unknown'])).to.equal('degraded');
    expect(worstState(['degraded', 'critical', 'healthy'])).to.equal('critical');
  });

  describe('workers', () => {
    it('scores reliability as the 95% Wilson lower bound: few attempts prove little', () => {
      expect(reliabilityScore(2, 2)).to.be.closeTo(0.342, 0.001);
      expect(reliabilityScore(990, 1000)).to.be.closeTo(0.9817, 0.0005);
      expect(reliabilityScore(0, 0)).to.equal(0);
    });

    it('ranks the least reliable first, with its failures by error name, most frequent first', () => {
      const identity = (host: string, pid: number | null) => ({ serviceName: 'svc', hostName: host, processPid: pid });
      const workers = judgeWorkers(
        [
          { ...identity('a', 1), attempts: 1000, failures: 10, stalled: 0, lastSeen: null },
          { ...identity('b', null), attempts: 40, failures: 20, stalled: 2, lastSeen: new Date(5) },
          { ...identity('c', 3), attempts: 2, failures: 0, stalled: 0, lastSeen: null },
        ],
        [
          { ...identity('b', null), errorName: 'Stalled', failures: 2 },
          { ...identity('a', 1), errorName: 'Timeout', failures: 10 },
          { ...identity('b', null), errorName: 'TypeError', failures: 18 },
          { ...identity('b', 7), errorName: 'Other pid', failures: 99 },
        ],
      );
      expect(workers.map((w) => w.hostName)).to.deep.equal(['c', 'b', 'a']);
      expect(workers[1]).to.deep.include({ failureRatio: 0.5, reliability: reliabilityScore(20, 40) });
      expect(workers[1]?.failuresByError).to.deep.equal([
        { errorName: 'TypeError', failures: 18 },
        { errorName: 'Stalled', failures: 2 },
      ]);
      expect(workers[0]?.failuresByError).to.deep.equal([]);
    });
  });
});
