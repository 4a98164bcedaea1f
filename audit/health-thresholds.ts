/**
 * Every threshold of the health judgements, in one place: the dashboard's
 * badges, `evaluateHealth`, the `health` CLI and the Prometheus alert rules
 * (alerts/) all read these, so the page, the alerts and the ledger agree.
 */

/** The default objective: 99% of the jobs that end, end completed. */
export const DEFAULT_SLO = 0.99;

/** The default latency objective: 99% of attempts take at most 5 s (a bucket bound of messaging.process.duration). */
export const DEFAULT_LATENCY_SLO = { objective: 0.99, thresholdSeconds: 5 } as const;

/**
 * Multiwindow, multi-burn-rate conditions (Google SRE workbook, chapter 5):
 * a condition holds when the burn rate over both the long and the short
 * window is at least `burnRate`. `page` conditions make a queue critical,
 * the `ticket` one degraded.
 */
export const BURN_RATE_CONDITIONS = [
  { severity: 'page', burnRate: 14.4, long: '1h', short: '5m' },
  { severity: 'page', burnRate: 6, long: '6h', short: '30m' },
  { severity: 'ticket', burnRate: 1, long: '3d', short: '6h' },
] as const;

/** Burn-rate conditions need at least this many jobs ending in their long window. */
export const MIN_FINISHED_JOBS = 20;

/** Below that traffic: this many final failures within `window` still alert (and make a queue degraded). */
export const LOW_TRAFFIC_FAILURES = { failures: 3, window: '15m' } as const;

/** A worker instance failing far more than its queue: ratio over the queue's, an absolute floor, and enough attempts. */
export const BAD_WORKER = { ratioOverQueue: 3, minFailureRatio: 0.1, minAttempts: 20, window: '30m' } as const;

/** The ledger pipeline spilled or dropped records within this window. */
export const LEDGER_DEGRADED_WINDOW = '5m';

/** Jobs waiting while nothing is consumed, for this long. */
export const NO_CONSUMER_FOR = '10m';

/** Prometheus-style durations of the windows above, in milliseconds. */
export function windowMs(window: string): number {
  const match = /^(\d+)([smhd])$/.exec(window);
  if (match === null) throw new RangeError(`bullmq-ledger: "${window}" is not a window such as 5m, 1h or 3d`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's'] ?? 1000;
  return Number(match[1]) * unit;
}
