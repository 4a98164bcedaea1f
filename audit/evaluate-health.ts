/**
 * `evaluateHealth`: the ledger's health at a moment, judged as the alert
 * rules judge it. The counts come from the rollup-backed stats queries (exact
 * for any window); the judgement is the pure functions of health.ts and
 * worker-health.ts.
 */
import type { MikroORM } from '@mikro-orm/core';
import { ledgerEntities } from '../schema';
import { checkSlo, HEALTH_WINDOWS, judgeQueueHealth, worstState } from './health';
import type { HealthState, QueueHealth } from './health';
import { DEFAULT_SLO, windowMs } from './health-thresholds';
import { LedgerQueries } from './ledger-queries';
import { judgeWorkers } from './worker-health';
import type { WorkerHealth } from './worker-health';

/** The ledger's database: a MikroORM instance on it, or a URL (a small pool is opened and closed). */
export type HealthSource =
  | { readonly orm: MikroORM; readonly clientUrl?: undefined; readonly schema?: undefined }
  | { readonly clientUrl: string; readonly schema?: string; readonly orm?: undefined };

export interface HealthOptions {
  /** Start of the range whose numbers are reported and whose workers are judged. @defaultValue 1 hour before `until` */
  readonly since?: Date;
  /**
   * The moment judged: the alert windows (5 minutes to 3 days) and the range end here.
   * @defaultValue the end of the current minute (`judgementMoment`), as the dashboard's badges
   */
  readonly until?: Date;
  /** The objective: the share of jobs that end that must end completed, between 0 and 1. @defaultValue 0.99 */
  readonly slo?: number;
  /** The current time, as a Date or milliseconds since the epoch. @defaultValue Date.now() */
  readonly now?: Date | number;
}

/** What `evaluateHealth` takes: the ledger's database, and the options, in one object or two. */
export type HealthRequest = HealthSource & HealthOptions;

const REQUEST_KEYS: ReadonlySet<string> = new Set(['orm', 'clientUrl', 'schema', 'since', 'until', 'slo', 'now']);

export interface HealthReport {
  readonly since: Date;
  readonly until: Date;
  readonly slo: number;
  /** The worst queue's state: critical, then degraded, then healthy; unknown when every queue is (or none ended a job). */
  readonly state: HealthState;
  /** Every queue that ended a job in the last 3 days or in the range, by name. */
  readonly queues: readonly QueueHealth[];
  /** Every worker identity (service, host, pid) with an attempt that started in the range, least reliable first. */
  readonly workers: readonly WorkerHealth[];
}

/** The range of a health report when no `since` is given (the CLI's `--since` default too). */
export const DEFAULT_HEALTH_RANGE = '1h';

/** A checked moment to judge and range. */
export interface HealthRange {
  readonly since: Date;
  readonly until: Date;
  readonly slo: number;
}

function validDate(name: string, value: unknown): Date {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  throw new TypeError(`bullmq-ledger: ${name} must be a valid Date, got ${String(value)}`);
}

/**
 * When health is judged by default: the end of the current minute. Every job so far is in the
 * windows, and a judgement (and the dashboard page showing it) stays the same within a minute
 * while the ledger does: the CLI and the dashboard judge the same moment.
 */
export function judgementMoment(now: number): Date {
  return new Date(Math.floor(now / 60_000) * 60_000 + 60_000);
}

/** The options with their defaults; a TypeError or RangeError that says what to fix when one is wrong. */
export function checkHealthOptions(options: HealthOptions): HealthRange {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('bullmq-ledger: the options of evaluateHealth must be an object such as { since, slo }');
  }
  const now = options.now === undefined ? new Date() : validDate('now', options.now);
  const until = options.until === undefined ? judgementMoment(now.getTime()) : validDate('until', options.until);
  const since =
    options.since === undefined
      ? new Date(until.getTime() - windowMs(DEFAULT_HEALTH_RANGE))
      : validDate('since', options.since);
  if (since.getTime() > until.getTime()) {
    throw new RangeError(
      `bullmq-ledger: since (${since.toISOString()}) is after until (${until.toISOString()}); give a since before until`,
    );
  }
  return { since, until, slo: checkSlo(options.slo ?? DEFAULT_SLO) };
}

/** Every queue's health at `until`, with the numbers of [since, until): one query of the rollups and records. */
export async function evaluateQueueHealth(queries: LedgerQueries, range: HealthRange): Promise<QueueHealth[]> {
  const until = range.until.getTime();
  const sinces = [...HEALTH_WINDOWS.map((window) => new Date(until - windowMs(window))), range.since];
  const counts = await queries.finalOutcomesByWindow(range.until, sinces);
  return [...counts].map(([queueName, outcomes]) =>
    judgeQueueHealth(
      queueName,
      Object.fromEntries(HEALTH_WINDOWS.map((window, i) => [window, outcomes[i]])),
      outcomes[HEALTH_WINDOWS.length],
      range.slo,
    ),
  );
}

async function evaluate(queries: LedgerQueries, range: HealthRange): Promise<HealthReport> {
  const window = { since: range.since, until: range.until };
  const [queues, workerCounts, workerErrors] = await Promise.all([
    evaluateQueueHealth(queries, range),
    queries.workerStats(window),
    queries.workerFailuresByError(window),
  ]);
  return {
    ...range,
    state: worstState(queues.map((queue) => queue.state)),
    queues,
    workers: judgeWorkers(workerCounts, workerErrors),
  };
}

function checkSource(source: HealthRequest): void {
  if (typeof source !== 'object' || source === null) {
    throw new TypeError(
      "bullmq-ledger: evaluateHealth needs { orm } (a MikroORM instance on the ledger's database) or { clientUrl: 'postgresql://...' }",
    );
  }
  // A misspelt option (`sice`, `SLO`) would otherwise be dropped without a word.
  const unknown = Object.keys(source).filter((key) => !REQUEST_KEYS.has(key));
  if (unknown.length > 0) {
    throw new TypeError(
      `bullmq-ledger: evaluateHealth does not know ${unknown.map((key) => `"${key}"`).join(', ')}; it takes orm or clientUrl (and schema), since, until, slo and now`,
    );
  }
  const hasOrm = source.orm !== undefined && source.orm !== null;
  const hasUrl = source.clientUrl !== undefined && source.clientUrl !== null;
  if (hasOrm && hasUrl) throw new TypeError('bullmq-ledger: give evaluateHealth either orm or clientUrl, not both');
  if (!hasOrm && !(typeof source.clientUrl === 'string' && source.clientUrl !== '')) {
    throw new TypeError(
      "bullmq-ledger: evaluateHealth needs { orm } (a MikroORM instance on the ledger's database) or { clientUrl: 'postgresql://...' }",
    );
  }
}

/** The options actually given: an `undefined` in the second argument does not hide the first's value. */
function definedOnly(options: HealthOptions): HealthOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('bullmq-ledger: the options of evaluateHealth must be an object such as { since, slo }');
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return reason(err.errors[0]);
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/**
 * The health of every queue and worker from the ledger, e.g.
 * `evaluateHealth({ orm, since, slo })` (or the options as a second argument): per queue `healthy`,
 * `degraded`, `critical` or `unknown` at `until` with the numbers behind it
 * (the alert rules' conditions, over windows ending at `until`) and the
 * numbers of [since, until); per worker its reliability over [since, until).
 * Wrong options throw a TypeError or RangeError before the database is asked.
 */
export async function evaluateHealth(source: HealthRequest, options: HealthOptions = {}): Promise<HealthReport> {
  checkSource(source);
  const range = checkHealthOptions({
    since: source.since,
    until: source.until,
    slo: source.slo,
    now: source.now,
    ...definedOnly(options),
  });
  let opened: MikroORM | undefined;
  try {
    let orm = source.orm;
    if (orm === undefined) {
      const { MikroORM } = await import('@mikro-orm/postgresql');
      opened = await MikroORM.init({
        entities: [...ledgerEntities],
        clientUrl: source.clientUrl,
        schema: source.schema,
        pool: { min: 0, max: 3 },
        discovery: { warnWhenNoEntities: false },
        debug: false,
      });
      orm = opened;
    }
    return await evaluate(new LedgerQueries(orm), range);
  } catch (err) {
    throw new Error(
      `bullmq-ledger: cannot read the ledger's health (${reason(err)}); check that PostgreSQL answers and that the ledger tables exist (bullmq-ledger migrate)`,
      { cause: err },
    );
  } finally {
    await opened?.close(true).catch(() => undefined);
  }
}
