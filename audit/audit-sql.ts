/**
 * Every read query of the ledger, in one place: the query API, the CLI and
 * the dashboard all run these. Each takes the schema (quoted into the text)
 * and returns SQL with `?` parameters, in the order the builder lists them.
 *
 * Time windows: a job counts in [since, until) when its newest attempt ended
 * then (`completed_at`), or, while it is PENDING and has not run yet, when it
 * was enqueued then. Both halves use an index (see the migrations).
 */
import { quoteIdentifier } from '../exporter/ledger-sql';

export interface Query {
  readonly sql: string;
  readonly params: unknown[];
}

export interface TimeRange {
  readonly since: Date;
  readonly until: Date;
}

const FAILURE_OUTCOMES = `('retry', 'failed', 'stalled')`;

function records(schema: string): string {
  return `${quoteIdentifier(schema)}."worker_job_records"`;
}

function attempts(schema: string): string {
  return `${quoteIdentifier(schema)}."worker_job_attempts"`;
}

/** Jobs of the window: newest attempt ended in it, or pending and enqueued in it. */
function inWindow(range: TimeRange): Query {
  return {
    sql: `((completed_at >= ? and completed_at < ?) or (completed_at is null and status = 'PENDING' and enqueued_at >= ? and enqueued_at < ?))`,
    params: [range.since, range.until, range.since, range.until],
  };
}

const STATS_COLUMNS = `queue_name,
    count(*)::int as total_jobs,
    count(*) filter (where status = 'COMPLETED')::int as completed_jobs,
    count(*) filter (where status = 'FAILED' and final)::int as failed_jobs,
    count(*) filter (where status = 'FAILED' and not final)::int as retrying_jobs,
    count(*) filter (where status = 'PENDING')::int as pending_jobs,
    avg(duration_ms) filter (where final) as average_duration_ms,
    percentile_cont(0.5) within group (order by duration_ms) filter (where final) as p50_duration_ms,
    percentile_cont(0.95) within group (order by duration_ms) filter (where final) as p95_duration_ms,
    percentile_cont(0.99) within group (order by duration_ms) filter (where final) as p99_duration_ms`;

/** Per-queue counts and durations over a window; one queue, or every queue when `queue` is undefined. */
export function queueStatsQuery(schema: string, range: TimeRange, queue?: string): Query {
  const window = inWindow(range);
  const queueFilter = queue === undefined ? '' : 'queue_name = ? and ';
  return {
    sql: `select ${STATS_COLUMNS}
  from ${records(schema)}
  where ${queueFilter}${window.sql}
  group by queue_name
  order by queue_name`,
    params: [...(queue === undefined ? [] : [queue]), ...window.params],
  };
}

/** Per worker identity (service, host, pid), from the attempt history. */
export function workerStatsQuery(schema: string, range: TimeRange): Query {
  return {
    sql: `select service_name, host_name, process_pid,
    count(*)::int as attempts,
    count(*) filter (where outcome in ${FAILURE_OUTCOMES})::int as failures,
    count(*) filter (where outcome = 'stalled')::int as stalled,
    avg(duration_ms) as average_duration_ms,
    percentile_cont(0.95) within group (order by duration_ms) as p95_duration_ms,
    max(ended_at) as last_seen
  from ${attempts(schema)}
  where started_at >= ? and started_at < ?
  group by service_name, host_name, process_pid
  order by count(*) filter (where outcome in ${FAILURE_OUTCOMES})::float8 / count(*) desc, attempts desc`,
    params: [range.since, range.until],
  };
}

const JOB_COLUMNS = `id, job_id, queue_name, job_name, status, attempt, retry_count, final, outcome,
    started_at, completed_at, enqueued_at, duration_ms, error_details, trace_id, span_id`;

/** The longest newest attempts that ended in the window. */
export function slowestJobsQuery(schema: string, range: TimeRange, limit: number, queue?: string): Query {
  return {
    sql: `select ${JOB_COLUMNS}
  from ${records(schema)}
  where ${queue === undefined ? '' : 'queue_name = ? and '}completed_at >= ? and completed_at < ? and duration_ms is not null
  order by duration_ms desc
  limit ?`,
    params: [...(queue === undefined ? [] : [queue]), range.since, range.until, limit],
  };
}

/** Failed jobs, newest first: failed for good, or also those that will be retried. */
export function recentFailuresQuery(
  schema: string,
  range: TimeRange,
  limit: number,
  options: { queue?: string; includeRetrying: boolean },
): Query {
  const finalFilter = options.includeRetrying ? '' : ' and final';
  return {
    sql: `select ${JOB_COLUMNS}
  from ${records(schema)}
  where status = 'FAILED'${finalFilter}${options.queue === undefined ? '' : ' and queue_name = ?'} and completed_at >= ? and completed_at < ?
  order by completed_at desc
  limit ?`,
    params: [...(options.queue === undefined ? [] : [options.queue]), range.since, range.until, limit],
  };
}

/** Jobs whose newest attempt failed, that BullMQ will retry, after at least `minRetries` failures. */
export function stuckRetryingQuery(schema: string, minRetries: number, limit: number, queue?: string): Query {
  return {
    sql: `select ${JOB_COLUMNS}
  from ${records(schema)}
  where status = 'FAILED' and not final and retry_count >= ?${queue === undefined ? '' : ' and queue_name = ?'}
  order by retry_count desc, completed_at desc
  limit ?`,
    params: [minRetries, ...(queue === undefined ? [] : [queue]), limit],
  };
}

export function jobRecordQuery(schema: string, queue: string, jobId: string): Query {
  return {
    sql: `select ${JOB_COLUMNS}, result_summary, metadata, attempts_started, created_at, updated_at
  from ${records(schema)}
  where job_id = ? and queue_name = ?`,
    params: [jobId, queue],
  };
}

export function jobAttemptsQuery(schema: string, queue: string, jobId: string): Query {
  return {
    sql: `select span_id, trace_id, attempt, attempts_started, outcome, final, started_at, ended_at, duration_ms,
    error_details, service_name, host_name, process_pid, worker_name
  from ${attempts(schema)}
  where queue_name = ? and job_id = ?
  order by attempts_started, started_at`,
    params: [queue, jobId],
  };
}
