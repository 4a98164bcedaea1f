/**
 * Health judgements from ledger counts: pure functions, no I/O. They apply
 * the thresholds of health-thresholds.ts the way the Prometheus alert rules
 * do, so that the dashboard's badges, `evaluateHealth`, the `health` CLI and
 * the alerts agree. evaluate-health.ts reads the counts.
 */
import {
  BURN_RATE_CONDITIONS,
  DEFAULT_SLO,
  LOW_TRAFFIC_FAILURES,
  MIN_FINISHED_JOBS,
  windowMs,
} from './health-thresholds';

export { DEFAULT_SLO } from './health-thresholds';

export type HealthState = 'healthy' | 'degraded' | 'critical' | 'unknown';

/** Jobs that ended in a window: completed, or failed for good. */
export interface FinalOutcomes {
  readonly completedJobs: number;
  readonly failedJobs: number;
}

/** Final outcomes per window name (`5m`, `1h`, ...); a window left out had none. */
export type WindowOutcomes = Readonly<Partial<Record<string, FinalOutcomes>>>;

/** The final-failure ratio and burn rate of one window. */
export interface WindowHealth {
  readonly window: string;
  /** completedJobs + failedJobs. */
  readonly finishedJobs: number;
  readonly failedJobs: number;
  /** failed / finished; null when no job ended. */
  readonly failureRatio: number | null;
  /** failureRatio / (1 - slo): 1 spends the error budget exactly as fast as it accrues. Null when no job ended. */
  readonly burnRate: number | null;
}

/** One multiwindow burn-rate condition of BURN_RATE_CONDITIONS, checked. */
export interface ConditionCheck {
  readonly severity: 'page' | 'ticket';
  /** The burn rate both windows must reach. */
  readonly burnRate: number;
  readonly long: string;
  readonly short: string;
  /** At least MIN_FINISHED_JOBS final jobs in the long window: without them the condition cannot hold. */
  readonly enoughTraffic: boolean;
  readonly holds: boolean;
}

/** The low-traffic guard: when the fastest page condition lacks traffic, a few final failures still count. */
export interface LowTrafficCheck {
  /** Where the final failures are counted (LOW_TRAFFIC_FAILURES.window). */
  readonly window: string;
  readonly failedJobs: number;
  /** The fastest page condition's long window, whose traffic decides whether the guard applies. */
  readonly trafficWindow: string;
  /** Fewer than MIN_FINISHED_JOBS final jobs in `trafficWindow`. */
  readonly lowTraffic: boolean;
  readonly holds: boolean;
}

/** The numbers of the requested range. */
export interface RangeHealth {
  readonly finishedJobs: number;
  readonly failedJobs: number;
  readonly failureRatio: number | null;
  readonly burnRate: number | null;
  /** 1 - burnRate: the share of the range's error budget not spent (negative: overspent). Null when no job ended. */
  readonly errorBudgetLeft: number | null;
}

export interface QueueHealth {
  readonly queueName: string;
  readonly state: HealthState;
  /** Why, in one line: the condition that holds, or what is missing to judge. */
  readonly reason: string;
  /** Every window the conditions read, shortest first. */
  readonly windows: readonly WindowHealth[];
  readonly conditions: readonly ConditionCheck[];
  readonly lowTraffic: LowTrafficCheck;
  readonly range: RangeHealth;
}

/** The windows the judgement reads (each condition's long and short, the low-traffic one), shortest first. */
export const HEALTH_WINDOWS: readonly string[] = [
  ...new Set<string>([...BURN_RATE_CONDITIONS.flatMap((c) => [c.long, c.short]), LOW_TRAFFIC_FAILURES.window]),
].sort((a, b) => windowMs(a) - windowMs(b));

/**
 * The page condition with the shortest long window: below MIN_FINISHED_JOBS
 * final jobs in it (TRAFFIC_WINDOW), the fastest page cannot fire, and the
 * low-traffic guard takes over.
 */
const FASTEST_PAGE = [...BURN_RATE_CONDITIONS]
  .filter((c) => c.severity === 'page')
  .sort((a, b) => windowMs(a.long) - windowMs(b.long))[0];
export const TRAFFIC_WINDOW: string = FASTEST_PAGE?.long ?? LOW_TRAFFIC_FAILURES.window;

/** The longest long window: with too few jobs there, no condition can judge. */
const LONGEST_WINDOW = HEALTH_WINDOWS[HEALTH_WINDOWS.length - 1] ?? TRAFFIC_WINDOW;

const NONE: FinalOutcomes = { completedJobs: 0, failedJobs: 0 };

/** Throws a RangeError unless 0 < slo < 1. */
export function checkSlo(slo: unknown): number {
  if (typeof slo !== 'number' || !(slo > 0 && slo < 1)) {
    throw new RangeError(
      `bullmq-ledger: slo must be a number between 0 and 1, exclusive (0.99: 99% of jobs complete), got ${String(slo)}`,
    );
  }
  return slo;
}

/**
 * `value >= threshold`, forgiving the rounding of a float division: 144
 * failures of 1000 jobs against 99% is a burn rate of exactly 14.4, though
 * 0.144 / (1 - 0.99) gives 14.399999999999986.
 */
function reaches(value: number | null, threshold: number): boolean {
  return value !== null && value >= threshold * (1 - 1e-9);
}

function ratios(outcomes: FinalOutcomes, slo: number): Omit<WindowHealth, 'window'> {
  const finishedJobs = outcomes.completedJobs + outcomes.failedJobs;
  const failureRatio = finishedJobs === 0 ? null : outcomes.failedJobs / finishedJobs;
  return {
    finishedJobs,
    failedJobs: outcomes.failedJobs,
    failureRatio,
    burnRate: failureRatio === null ? null : failureRatio / (1 - slo),
  };
}

/** The numbers of a range, with the share of its error budget left. */
export function rangeHealth(outcomes: FinalOutcomes, slo: number = DEFAULT_SLO): RangeHealth {
  const numbers = ratios(outcomes, checkSlo(slo));
  return { ...numbers, errorBudgetLeft: numbers.burnRate === null ? null : 1 - numbers.burnRate };
}

/** A burn rate as `14.4x`, `0.99x`, `100x` (three significant digits); `-` when no job ended. */
export function formatBurnRate(burnRate: number | null): string {
  return burnRate === null ? '-' : `${Number(burnRate.toPrecision(3))}x`;
}

/**
 * A queue's state from its final outcomes per window (all ending at the same
 * moment), as the alert rules judge it: `critical` when a page condition
 * holds, `degraded` when the ticket condition or the low-traffic guard does,
 * `unknown` when no condition has the traffic to judge, else `healthy`.
 * `range` gives the numbers of the requested range, which do not change the state.
 */
export function judgeQueueHealth(
  queueName: string,
  windows: WindowOutcomes,
  range: FinalOutcomes = NONE,
  slo: number = DEFAULT_SLO,
): QueueHealth {
  checkSlo(slo);
  const byWindow = new Map(HEALTH_WINDOWS.map((window) => [window, ratios(windows[window] ?? NONE, slo)]));
  const at = (window: string): Omit<WindowHealth, 'window'> => byWindow.get(window) ?? ratios(NONE, slo);
  const conditions: ConditionCheck[] = BURN_RATE_CONDITIONS.map((c) => {
    const enoughTraffic = at(c.long).finishedJobs >= MIN_FINISHED_JOBS;
    return {
      severity: c.severity,
      burnRate: c.burnRate,
      long: c.long,
      short: c.short,
      enoughTraffic,
      holds: enoughTraffic && reaches(at(c.long).burnRate, c.burnRate) && reaches(at(c.short).burnRate, c.burnRate),
    };
  });
  const lowTrafficFailures = at(LOW_TRAFFIC_FAILURES.window).failedJobs;
  const lowTraffic = at(TRAFFIC_WINDOW).finishedJobs < MIN_FINISHED_JOBS;
  const guard: LowTrafficCheck = {
    window: LOW_TRAFFIC_FAILURES.window,
    failedJobs: lowTrafficFailures,
    trafficWindow: TRAFFIC_WINDOW,
    lowTraffic,
    holds: lowTraffic && lowTrafficFailures >= LOW_TRAFFIC_FAILURES.failures,
  };
  const describe = (c: ConditionCheck): string =>
    `burn rate ${formatBurnRate(at(c.long).burnRate)} over ${c.long} and ${formatBurnRate(at(c.short).burnRate)} over ${c.short} ` +
    `(${c.severity === 'page' ? 'pages' : 'a ticket'} from ${c.burnRate}x)`;
  const page = conditions.find((c) => c.holds && c.severity === 'page');
  const ticket = conditions.find((c) => c.holds && c.severity === 'ticket');
  let state: HealthState;
  let reason: string;
  if (page !== undefined) {
    state = 'critical';
    reason = describe(page);
  } else if (ticket !== undefined) {
    state = 'degraded';
    reason = describe(ticket);
  } else if (guard.holds) {
    state = 'degraded';
    reason =
      `low traffic (${at(TRAFFIC_WINDOW).finishedJobs} final jobs in ${TRAFFIC_WINDOW}, under ${MIN_FINISHED_JOBS}): ` +
      `${lowTrafficFailures} final failures in ${guard.window} (from ${LOW_TRAFFIC_FAILURES.failures})`;
  } else if (!conditions.some((c) => c.enoughTraffic)) {
    state = 'unknown';
    reason = `too little traffic to judge: ${at(LONGEST_WINDOW).finishedJobs} final jobs in ${LONGEST_WINDOW} (needs ${MIN_FINISHED_JOBS})`;
  } else {
    state = 'healthy';
    reason = `no condition holds: burn rate ${formatBurnRate(at(LONGEST_WINDOW).burnRate)} over ${LONGEST_WINDOW}`;
  }
  return {
    queueName,
    state,
    reason,
    windows: HEALTH_WINDOWS.map((window) => ({ window, ...at(window) })),
    conditions,
    lowTraffic: guard,
    range: rangeHealth(range, slo),
  };
}

const SEVERITY: Readonly<Record<HealthState, number>> = { unknown: 0, healthy: 1, degraded: 2, critical: 3 };

/** The worst of several states: critical, then degraded, then healthy; unknown only when all are (or none). */
export function worstState(states: Iterable<HealthState>): HealthState {
  let worst: HealthState = 'unknown';
  for (const state of states) if (SEVERITY[state] > SEVERITY[worst]) worst = state;
  return worst;
}

/**
 * Reliability as the 95% Wilson score lower bound of the success ratio: a
 * worker with 2 successes out of 2 (0.34) ranks below one with 990 out of
 * 1000 (0.98), because two attempts prove little. 0 when there are none.
 */
export function reliabilityScore(successes: number, total: number, z = 1.959964): number {
  if (!(total > 0)) return 0;
  const p = Math.min(Math.max(successes / total, 0), 1);
  const z2 = z * z;
  const centre = p + z2 / (2 * total);
  const margin = z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total));
  return Math.max(0, (centre - margin) / (1 + z2 / total));
}
