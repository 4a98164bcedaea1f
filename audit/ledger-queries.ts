/**
 * The ledger's typed query API: what the CLI, the examples and the dashboard
 * ask the ledger. The SQL lives in audit-sql.ts; this module runs it on the
 * ORM's connection and turns rows into typed objects.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { JobStatus } from '../schema/worker-job-record';
import type { ErrorDetailsColumn } from '../schema/worker-job-record';
import * as sql from './audit-sql';
import type { JobCursor, JobFilters, Query, StatsWindow, TimelineStep, TimeRange } from './audit-sql';
import { estimateQuantile } from './duration-histogram';
import type { FinalOutcomes } from './health';
import { bool, count, date, errorDetails, isRow, json, num, numbers, requiredText, strings, text } from './row-readers';
import type { Row } from './row-readers';
import type { WorkerErrorCount } from './worker-health';

export interface QueueStats {
  readonly queueName: string;
  /** Jobs whose newest attempt ended in the window, plus jobs enqueued in it that have not run yet. */
  readonly totalJobs: number;
  readonly completedJobs: number;
  /** Failed for good. */
  readonly failedJobs: number;
  /** Newest attempt failed, BullMQ will retry. */
  readonly retryingJobs: number;
  readonly pendingJobs: number;
  /** Failed attempts that BullMQ retried, of the jobs in the window. */
  readonly retriedAttempts: number;
  /** completed / (completed + failed for good); null when no job finished. */
  readonly successRate: number | null;
  /** Over finished jobs (completed or failed for good), of their newest attempt. */
  readonly averageDurationMs: number | null;
  /** Percentiles estimated from the rollups' log-scale histogram (within one 19% bucket; see duration-histogram.ts). */
  readonly p50DurationMs: number | null;
  readonly p95DurationMs: number | null;
  readonly p99DurationMs: number | null;
}

export interface WorkerStats {
  readonly serviceName: string | null;
  readonly hostName: string | null;
  readonly processPid: number | null;
  readonly attempts: number;
  /** Attempts that failed (retried, failed for good) or were not recorded (stalled). */
  readonly failures: number;
  readonly stalled: number;
  readonly failureRate: number;
  readonly averageDurationMs: number | null;
  /** Estimated from the rollups' histogram, like QueueStats' percentiles. */
  readonly p50DurationMs: number | null;
  readonly p95DurationMs: number | null;
  readonly lastSeen: Date | null;
}

/** A job as the ledger shows it: its newest attempt. */
export interface JobSummary {
  readonly id: string;
  readonly jobId: string;
  readonly queueName: string;
  readonly jobName: string | null;
  readonly status: JobStatus;
  readonly attempt: number;
  readonly retryCount: number;
  readonly final: boolean;
  readonly outcome: string | null;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
  readonly enqueuedAt: Date | null;
  readonly durationMs: number | null;
  readonly errorDetails: ErrorDetailsColumn | null;
  readonly traceId: string | null;
  readonly spanId: string | null;
}

export interface JobRecord extends JobSummary {
  readonly resultSummary: unknown;
  readonly metadata: unknown;
  readonly attemptsStarted: number;
  readonly createdAt: Date | null;
  readonly updatedAt: Date | null;
}

export interface JobAttempt {
  readonly spanId: string;
  readonly traceId: string;
  readonly attempt: number;
  readonly attemptsStarted: number;
  readonly outcome: string;
  readonly final: boolean;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
  readonly durationMs: number | null;
  readonly errorDetails: ErrorDetailsColumn | null;
  readonly serviceName: string | null;
  readonly hostName: string | null;
  readonly processPid: number | null;
  readonly workerName: string | null;
}

export interface JobHistory {
  readonly record: JobRecord;
  /** Every attempt, oldest first. */
  readonly attempts: readonly JobAttempt[];
}

/** Completed and failed-for-good jobs in one bin of the completion timeline. */
export interface TimelineBin {
  readonly at: Date;
  readonly completedJobs: number;
  readonly failedJobs: number;
}

/** One page of a job search, and where the next one starts (null: this was the last). */
export interface JobPage {
  readonly jobs: readonly JobSummary[];
  readonly next: JobCursor | null;
}

/** Failures of one queue with one error name. */
export interface FailureGroup {
  readonly queueName: string;
  readonly errorName: string;
  readonly failures: number;
  readonly firstSeen: Date | null;
  readonly lastSeen: Date | null;
  /** Up to three job ids, newest first. */
  readonly sampleJobIds: readonly string[];
}

/**
 * A time window; `until` defaults to now and `since` to 24 hours before
 * `until`. For the stats, an `until` left out also takes in the hour in
 * progress whole (a clock a little ahead on some worker included).
 */
export interface WindowOptions {
  readonly since?: Date;
  readonly until?: Date;
}

const DAY_MS = 86_400_000;

export class LedgerQueries {
  private readonly schema: string;

  /** `orm`: a MikroORM instance on the ledger's database; the ledger's tables are in its `schema`. */
  constructor(private readonly orm: MikroORM) {
    this.schema = orm.config.get('schema') ?? 'public';
  }

  /** Counts, success rate and durations of one queue over a window (24 hours by default). */
  async queueStats(queue: string, options: WindowOptions = {}): Promise<QueueStats> {
    const [stats] = (await this.rows(sql.queueStatsQuery(this.schema, statsWindowOf(options), queue))).map(
      toQueueStats,
    );
    return stats ?? emptyStats(queue);
  }

  /** The same, for every queue with jobs in the window. */
  async allQueueStats(options: WindowOptions = {}): Promise<QueueStats[]> {
    return (await this.rows(sql.queueStatsQuery(this.schema, statsWindowOf(options)))).map(toQueueStats);
  }

  /** Attempts, failures and durations per worker identity (service, host, pid), least reliable first. */
  async workerStats(options: WindowOptions = {}): Promise<WorkerStats[]> {
    return (await this.rows(sql.workerStatsQuery(this.schema, statsWindowOf(options)))).map(toWorkerStats);
  }

  /**
   * Completed and failed-for-good jobs per queue in each window from one of
   * `sinces` to `until`, in one query (for the health judgement): per queue,
   * the counts in the order of `sinces`. Queues with no job ending in any of
   * the windows are left out.
   */
  async finalOutcomesByWindow(until: Date, sinces: readonly Date[]): Promise<Map<string, FinalOutcomes[]>> {
    const rows = await this.rows(sql.finalOutcomesByWindowQuery(this.schema, until, sinces));
    const byQueue = new Map<string, FinalOutcomes[]>();
    for (const row of rows) {
      const queueName = requiredText(row, 'queue_name');
      const list = byQueue.get(queueName) ?? sinces.map(() => ({ completedJobs: 0, failedJobs: 0 }));
      const w = count(row, 'w');
      if (w >= 0 && w < list.length) {
        list[w] = { completedJobs: count(row, 'completed_jobs'), failedJobs: count(row, 'failed_jobs') };
      }
      byQueue.set(queueName, list);
    }
    return byQueue;
  }

  /** Failed and stalled attempts that started in the window, per worker identity and error name. */
  async workerFailuresByError(options: WindowOptions = {}): Promise<WorkerErrorCount[]> {
    return (await this.rows(sql.workerFailuresByErrorQuery(this.schema, windowOf(options)))).map((row) => ({
      serviceName: text(row, 'service_name'),
      hostName: text(row, 'host_name'),
      processPid: num(row, 'process_pid'),
      errorName: requiredText(row, 'error_name'),
      failures: count(row, 'failures'),
    }));
  }

  /** The longest jobs whose newest attempt ended in the window. */
  async slowestJobs(options: WindowOptions & { queue?: string; limit?: number } = {}): Promise<JobSummary[]> {
    const query = sql.slowestJobsQuery(this.schema, windowOf(options), limitOf(options.limit, 10), options.queue);
    return (await this.rows(query)).map(toJobSummary);
  }

  /**
   * Failed jobs, newest first, with their error and trace id: failed for good,
   * or with `includeRetrying` also those BullMQ will retry. One hour by default.
   */
  async recentFailures(
    options: WindowOptions & { queue?: string; limit?: number; includeRetrying?: boolean } = {},
  ): Promise<JobSummary[]> {
    const until = options.until ?? new Date();
    const range = windowOf({ since: options.since ?? new Date(until.getTime() - 3_600_000), until });
    const query = sql.recentFailuresQuery(this.schema, range, limitOf(options.limit, 50), {
      queue: options.queue,
      includeRetrying: options.includeRetrying ?? false,
    });
    return (await this.rows(query)).map(toJobSummary);
  }

  /**
   * Jobs whose newest attempt failed and that BullMQ will retry, after at least `minRetries` (3) failures.
   * `minRetries` counts failed attempts, the newest one included: a job listed has failed
   * `retryCount + 1` times (`retryCount` is the attempts before its newest), so `minRetries: 3`
   * lists a job on its third failure (`retryCount` 2) and later ones.
   */
  async stuckRetrying(options: { queue?: string; minRetries?: number; limit?: number } = {}): Promise<JobSummary[]> {
    const minRetries = options.minRetries ?? 3;
    if (!Number.isSafeInteger(minRetries) || minRetries < 0) {
      throw new RangeError(
        `bullmq-ledger: minRetries must be a whole number of at least 0, got ${String(options.minRetries)}`,
      );
    }
    return (
      await this.rows(sql.stuckRetryingQuery(this.schema, minRetries, limitOf(options.limit, 50), options.queue))
    ).map(toJobSummary);
  }

  /** The job's record and every attempt, oldest first; undefined when the ledger has no such job. */
  async jobHistory(queue: string, jobId: string): Promise<JobHistory | undefined> {
    const [recordRow] = await this.rows(sql.jobRecordQuery(this.schema, queue, jobId));
    if (recordRow === undefined) return undefined;
    const attempts = (await this.rows(sql.jobAttemptsQuery(this.schema, queue, jobId))).map(toJobAttempt);
    return { record: toJobRecord(recordRow), attempts };
  }

  /**
   * Completed and failed-for-good jobs over time, for charts: bins of
   * `step` ('5 minutes' from the records, 'hour' or 'day' from the rollups).
   */
  async completionTimeline(options: WindowOptions & { queue?: string; step: TimelineStep }): Promise<TimelineBin[]> {
    const query = sql.completionTimelineQuery(this.schema, windowOf(options), options.step, options.queue);
    return (await this.rows(query)).flatMap((row) => {
      const at = date(row, 'bin');
      return at === null
        ? []
        : [{ at, completedJobs: count(row, 'completed_jobs'), failedJobs: count(row, 'failed_jobs') }];
    });
  }

  /**
   * Jobs matching `filters`, the ones still to end first, then the most
   * recently ended; pass a page's `next` as `after` for the following page.
   */
  async searchJobs(filters: JobFilters, options: { limit?: number; after?: JobCursor } = {}): Promise<JobPage> {
    checkFilters(filters);
    const limit = limitOf(options.limit, 50);
    const rows = await this.rows(sql.jobSearchQuery(this.schema, filters, limit + 1, options.after));
    const jobs = rows.slice(0, limit).map(toJobSummary);
    const last = rows[limit - 1];
    return {
      jobs,
      next:
        rows.length > limit && last !== undefined
          ? { completedAtMicros: text(last, 'completed_at_micros'), id: requiredText(last, 'id') }
          : null,
    };
  }

  /** How many jobs match `filters`; counting stops at `cap` (then `capped` is true). */
  async countJobs(filters: JobFilters, cap = 10_000): Promise<{ count: number; capped: boolean }> {
    checkFilters(filters);
    const limit = limitOf(cap, 10_000);
    const [row] = await this.rows(sql.jobCountQuery(this.schema, filters, limit + 1));
    const matches = row === undefined ? 0 : count(row, 'matches');
    return { count: Math.min(matches, limit), capped: matches > limit };
  }

  /**
   * Failures grouped by queue and error name, most frequent first: jobs
   * failed for good, or with `allAttempts` every failed or stalled attempt.
   */
  async failureGroups(
    options: WindowOptions & { queue?: string; allAttempts?: boolean; limit?: number } = {},
  ): Promise<FailureGroup[]> {
    const query = sql.failureGroupsQuery(this.schema, windowOf(options), {
      allAttempts: options.allAttempts ?? false,
      queue: options.queue,
      limit: limitOf(options.limit, 100),
    });
    return (await this.rows(query)).map((row) => ({
      queueName: requiredText(row, 'queue_name'),
      errorName: requiredText(row, 'error_name'),
      failures: count(row, 'failures'),
      firstSeen: date(row, 'first_seen'),
      lastSeen: date(row, 'last_seen'),
      sampleJobIds: strings(row, 'sample_job_ids'),
    }));
  }

  private async rows(query: Query): Promise<Row[]> {
    const result: unknown = await this.orm.em.getConnection().execute(query.sql, query.params, 'all');
    return Array.isArray(result) ? result.filter(isRow) : [];
  }
}

function checkFilters(filters: JobFilters): void {
  if (filters.status !== undefined && !STATUSES.includes(filters.status)) {
    throw new RangeError(`bullmq-ledger: status must be one of ${STATUSES.join(', ')}, got ${String(filters.status)}`);
  }
  for (const key of ['since', 'until'] as const) {
    const value = filters[key];
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) {
      throw new RangeError(`bullmq-ledger: ${key} must be a valid Date`);
    }
  }
}

function windowOf(options: WindowOptions): TimeRange {
  const until = options.until ?? new Date();
  const since = options.since ?? new Date(until.getTime() - DAY_MS);
  if (
    !(since instanceof Date) ||
    Number.isNaN(since.getTime()) ||
    !(until instanceof Date) ||
    Number.isNaN(until.getTime())
  ) {
    throw new RangeError('bullmq-ledger: since and until must be valid Dates');
  }
  if (since.getTime() > until.getTime()) {
    throw new RangeError(`bullmq-ledger: since (${since.toISOString()}) is after until (${until.toISOString()})`);
  }
  return { since, until };
}

/** Like windowOf, but an `until` left out stays open (see WindowOptions). */
function statsWindowOf(options: WindowOptions): StatsWindow {
  const range = windowOf(options);
  return options.until === undefined ? { since: range.since } : range;
}

function limitOf(limit: number | undefined, fallback: number): number {
  const value = limit ?? fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > 10_000) {
    throw new RangeError(`bullmq-ledger: limit must be a whole number from 1 to 10000, got ${String(limit)}`);
  }
  return value;
}

function emptyStats(queueName: string): QueueStats {
  return {
    queueName,
    totalJobs: 0,
    completedJobs: 0,
    failedJobs: 0,
    retryingJobs: 0,
    pendingJobs: 0,
    retriedAttempts: 0,
    successRate: null,
    averageDurationMs: null,
    p50DurationMs: null,
    p95DurationMs: null,
    p99DurationMs: null,
  };
}

function toQueueStats(row: Row): QueueStats {
  const completedJobs = count(row, 'completed_jobs');
  const failedJobs = count(row, 'failed_jobs');
  const finished = completedJobs + failedJobs;
  const buckets = numbers(row, 'duration_buckets');
  return {
    queueName: requiredText(row, 'queue_name'),
    totalJobs: count(row, 'total_jobs'),
    completedJobs,
    failedJobs,
    retryingJobs: count(row, 'retrying_jobs'),
    pendingJobs: count(row, 'pending_jobs'),
    retriedAttempts: count(row, 'retried_attempts'),
    successRate: finished === 0 ? null : completedJobs / finished,
    averageDurationMs: average(row),
    p50DurationMs: estimateQuantile(buckets, 0.5),
    p95DurationMs: estimateQuantile(buckets, 0.95),
    p99DurationMs: estimateQuantile(buckets, 0.99),
  };
}

/** Mean duration from the summed `duration_sum_ms` / `duration_count`. */
function average(row: Row): number | null {
  const durations = count(row, 'duration_count');
  return durations === 0 ? null : count(row, 'duration_sum_ms') / durations;
}

function toWorkerStats(row: Row): WorkerStats {
  const buckets = numbers(row, 'duration_buckets');
  const attempts = count(row, 'attempts');
  const failures = count(row, 'failures');
  return {
    serviceName: text(row, 'service_name'),
    hostName: text(row, 'host_name'),
    processPid: num(row, 'process_pid'),
    attempts,
    failures,
    stalled: count(row, 'stalled'),
    failureRate: attempts === 0 ? 0 : failures / attempts,
    averageDurationMs: average(row),
    p50DurationMs: estimateQuantile(buckets, 0.5),
    p95DurationMs: estimateQuantile(buckets, 0.95),
    lastSeen: date(row, 'last_seen'),
  };
}

const STATUSES: readonly JobStatus[] = ['PENDING', 'COMPLETED', 'FAILED'];

function toJobSummary(row: Row): JobSummary {
  const status = STATUSES.find((candidate) => candidate === text(row, 'status')) ?? 'PENDING';
  return {
    id: requiredText(row, 'id'),
    jobId: requiredText(row, 'job_id'),
    queueName: requiredText(row, 'queue_name'),
    jobName: text(row, 'job_name'),
    status,
    attempt: count(row, 'attempt'),
    retryCount: count(row, 'retry_count'),
    final: bool(row, 'final'),
    outcome: text(row, 'outcome'),
    startedAt: date(row, 'started_at'),
    completedAt: date(row, 'completed_at'),
    enqueuedAt: date(row, 'enqueued_at'),
    durationMs: num(row, 'duration_ms'),
    errorDetails: errorDetails(row, 'error_details'),
    traceId: text(row, 'trace_id'),
    spanId: text(row, 'span_id'),
  };
}

function toJobRecord(row: Row): JobRecord {
  return {
    ...toJobSummary(row),
    resultSummary: json(row, 'result_summary'),
    metadata: json(row, 'metadata'),
    attemptsStarted: count(row, 'attempts_started'),
    createdAt: date(row, 'created_at'),
    updatedAt: date(row, 'updated_at'),
  };
}

function toJobAttempt(row: Row): JobAttempt {
  return {
    spanId: requiredText(row, 'span_id'),
    traceId: requiredText(row, 'trace_id'),
    attempt: count(row, 'attempt'),
    attemptsStarted: count(row, 'attempts_started'),
    outcome: requiredText(row, 'outcome'),
    final: bool(row, 'final'),
    startedAt: date(row, 'started_at'),
    endedAt: date(row, 'ended_at'),
    durationMs: num(row, 'duration_ms'),
    errorDetails: errorDetails(row, 'error_details'),
    serviceName: text(row, 'service_name'),
    hostName: text(row, 'host_name'),
    processPid: num(row, 'process_pid'),
    workerName: text(row, 'worker_name'),
  };
}
