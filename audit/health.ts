/**
 * Health judgements from ledger numbers, in one place so that every surface
 * (dashboard badges, CLI, alerts) applies the same thresholds.
 */

export type HealthState = 'healthy' | 'degraded' | 'critical' | 'unknown';

/** The default objective: 99% of jobs that end, end completed. */
export const DEFAULT_SLO = 0.99;

/** Below this many finished jobs a ratio says little: the queue is `unknown` unless failures alone are alarming. */
export const MIN_FINISHED_JOBS = 20;
/** With little traffic, this many final failures still make a queue `degraded`. */
export const LOW_TRAFFIC_FAILURES = 3;
/** Burn rate (failure ratio / error budget) from which a queue is `critical`: the budget of a 30-day period gone in 5 days. */
export const CRITICAL_BURN_RATE = 6;
/** Burn rate above which a queue is `degraded`: spending its budget faster than it accrues. */
export const DEGRADED_BURN_RATE = 1;

export interface QueueHealth {
  readonly state: HealthState;
  /** failed / (completed + failed) of jobs that ended; null when none did. */
  readonly failureRatio: number | null;
  /** failureRatio / (1 - slo); null when no job ended. */
  readonly burnRate: number | null;
}

/** A queue's health over a window from its final outcomes, against `slo` (0 < slo < 1). */
export function queueHealth(
  stats: { readonly completedJobs: number; readonly failedJobs: number },
  slo: number = DEFAULT_SLO,
): QueueHealth {
  if (!(slo > 0 && slo < 1))
    throw new RangeError(`bullmq-ledger: slo must be between 0 and 1 (0.99 is 99%), got ${slo}`);
  const finished = stats.completedJobs + stats.failedJobs;
  if (finished === 0) return { state: 'unknown', failureRatio: null, burnRate: null };
  const failureRatio = stats.failedJobs / finished;
  const burnRate = failureRatio / (1 - slo);
  let state: HealthState;
  if (finished < MIN_FINISHED_JOBS) state = stats.failedJobs >= LOW_TRAFFIC_FAILURES ? 'degraded' : 'unknown';
  else if (burnRate >= CRITICAL_BURN_RATE) state = 'critical';
  else if (burnRate > DEGRADED_BURN_RATE) state = 'degraded';
  else state = 'healthy';
  return { state, failureRatio, burnRate };
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
