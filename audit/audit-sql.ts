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
import { DURATION_BUCKET_COUNT } from '../schema/duration-buckets';
import { FAILED_ATTEMPT_OUTCOMES } from '../src/attributes';

export interface Query {
  readonly sql: string;
  readonly params: unknown[];
}

export interface TimeRange {
  readonly since: Date;
  readonly until: Date;
}

const FAILURE_OUTCOMES = `(${FAILED_ATTEMPT_OUTCOMES.map((outcome) => `'${outcome}'`).join(', ')})`;

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

/**
 * A window for the rollup-backed stats: `until` undefined means "up to now",
 * and then the hour in progress is read from its rollup row whole.
 */
export interface StatsWindow {
  readonly since: Date;
  readonly until?: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A half-open period of a rollup's grain; `to` undefined: open-ended. */
interface Period {
  readonly from: Date;
  readonly to?: Date;
}

/** Where each part of a window is read from. */
export interface WindowSegments {
  /** Whole UTC days, from the daily rollups. */
  readonly days: readonly Period[];
  /** Whole UTC hours outside those days, from the hourly rollups. */
  readonly hours: readonly Period[];
  /** The partial hours at the ends, from the rows themselves. */
  readonly edges: readonly TimeRange[];
}

/**
 * Splits a window into whole days, whole hours and partial hours: exact
 * counts for any window, reading at most two hours of rows, 46 hourly
 * rollup rows and one daily row per day per key.
 */
export function windowSegments(window: StatsWindow): WindowSegments {
  const since = window.since.getTime();
  const firstHour = Math.ceil(since / HOUR_MS) * HOUR_MS;
  const firstDay = Math.ceil(since / DAY_MS) * DAY_MS;
  const at = (ms: number): Date => new Date(ms);
  const leading = since < firstHour ? [{ since: window.since, until: at(firstHour) }] : [];
  if (window.until === undefined) {
    return {
      days: [{ from: at(firstDay) }],
      hours: firstHour < firstDay ? [{ from: at(firstHour), to: at(firstDay) }] : [],
      edges: leading,
    };
  }
  const until = window.until.getTime();
  const lastHour = Math.floor(until / HOUR_MS) * HOUR_MS;
  const lastDay = Math.floor(until / DAY_MS) * DAY_MS;
  if (firstHour >= lastHour) {
    return { days: [], hours: [], edges: since < until ? [{ since: window.since, until: window.until }] : [] };
  }
  const edges = [...leading, ...(lastHour < until ? [{ since: at(lastHour), until: window.until }] : [])];
  if (firstDay >= lastDay) return { days: [], hours: [{ from: at(firstHour), to: at(lastHour) }], edges };
  const hours: Period[] = [];
  if (firstHour < firstDay) hours.push({ from: at(firstHour), to: at(firstDay) });
  if (lastDay < lastHour) hours.push({ from: at(lastDay), to: at(lastHour) });
  return { days: [{ from: at(firstDay), to: at(lastDay) }], hours, edges };
}

/** `array[sum(b[1]), ..., sum(b[N])]`: the summed histogram. */
const SUMMED_BUCKETS = `array[${Array.from({ length: DURATION_BUCKET_COUNT }, (_, i) => `sum(b[${i + 1}])`).join(', ')}]::float8[]`;

/** The one-bucket histogram of a single duration (empty when null). */
function oneHot(schema: string, duration: string): string {
  const bucket = `${quoteIdentifier(schema)}."ledger_duration_bucket"(${duration})`;
  return `case when ${bucket} is null then '{}'::int[] else array_fill(0, array[${bucket} - 1]) || 1 end`;
}

/** Rows of a rollup whose period (`column`) lies in one of `periods`. */
function periodFilter(column: 'hour' | 'day', periods: readonly Period[]): Query {
  const parts = periods.map((period) =>
    period.to === undefined
      ? { sql: `${column} >= ?`, params: [period.from] }
      : { sql: `(${column} >= ? and ${column} < ?)`, params: [period.from, period.to] },
  );
  return { sql: `(${parts.map((part) => part.sql).join(' or ')})`, params: parts.flatMap((part) => part.params) };
}

/** The rollup rows of a window: daily ones for its whole days, hourly ones for the other whole hours. */
function rollupParts(
  schema: string,
  table: 'ledger_queue' | 'ledger_worker',
  columns: string,
  segments: WindowSegments,
  extra: Query,
): Query[] {
  const parts: Query[] = [];
  for (const [grain, periods] of [
    ['day', segments.days],
    ['hour', segments.hours],
  ] as const) {
    if (periods.length === 0) continue;
    const filter = periodFilter(grain, periods);
    parts.push({
      sql: `select ${columns} from ${quoteIdentifier(schema)}."${table}_${grain}s" where ${filter.sql}${extra.sql}`,
      params: [...filter.params, ...extra.params],
    });
  }
  return parts;
}

/** Rows of the window's partial hours (`false` when it has none). */
function edgeFilter(edges: readonly TimeRange[], filter: (range: TimeRange) => Query): Query {
  if (edges.length === 0) return { sql: 'false', params: [] };
  const parts = edges.map(filter);
  return { sql: `(${parts.map((part) => part.sql).join(' or ')})`, params: parts.flatMap((part) => part.params) };
}

/**
 * Per-queue counts and durations over a window; one queue, or every queue
 * with jobs in it. Whole days and hours come from the queue rollups, the
 * partial hours at the ends from the records, counted the same way (see the
 * rollups migration): the counts equal a count over the records.
 */
export function queueStatsQuery(schema: string, window: StatsWindow, queue?: string): Query {
  const segments = windowSegments(window);
  const { edges } = segments;
  const queueFilter = queue === undefined ? { sql: '', params: [] } : { sql: ' and queue_name = ?', params: [queue] };
  const parts = rollupParts(
    schema,
    'ledger_queue',
    `queue_name, total_jobs, completed_jobs, failed_jobs, retrying_jobs, pending_jobs, retried_attempts,
      duration_count, duration_sum_ms, duration_buckets as b`,
    segments,
    queueFilter,
  );
  if (edges.length > 0) {
    const filter = edgeFilter(edges, inWindow);
    parts.push({
      sql: `select queue_name, 1 as total_jobs, (status = 'COMPLETED')::int as completed_jobs,
      (status = 'FAILED' and final)::int as failed_jobs, (status = 'FAILED' and not final)::int as retrying_jobs,
      (status = 'PENDING')::int as pending_jobs, retry_count + (status = 'FAILED' and not final)::int as retried_attempts,
      (final and duration_ms is not null)::int as duration_count,
      coalesce(case when final then duration_ms end, 0)::numeric as duration_sum_ms,
      ${oneHot(schema, 'case when final then duration_ms end')} as b
    from ${records(schema)} where ${filter.sql}${queueFilter.sql}`,
      params: [...filter.params, ...queueFilter.params],
    });
  }
  if (parts.length === 0) return { sql: 'select 1 where false', params: [] };
  return {
    sql: `select queue_name,
    sum(total_jobs)::int as total_jobs, sum(completed_jobs)::int as completed_jobs, sum(failed_jobs)::int as failed_jobs,
    sum(retrying_jobs)::int as retrying_jobs, sum(pending_jobs)::int as pending_jobs,
    sum(retried_attempts)::int as retried_attempts, sum(duration_count)::int as duration_count,
    sum(duration_sum_ms)::float8 as duration_sum_ms, ${SUMMED_BUCKETS} as duration_buckets
  from (${parts.map((part) => part.sql).join('\n    union all\n    ')}) as x
  group by queue_name
  having sum(total_jobs) > 0
  order by queue_name`,
    params: parts.flatMap((part) => part.params),
  };
}

/**
 * Per worker identity (service, host, pid), from the attempts that started in
 * the window: whole days and hours from the worker rollups, partial hours from
 * the attempts. Least reliable first.
 */
export function workerStatsQuery(schema: string, window: StatsWindow): Query {
  const segments = windowSegments(window);
  const { edges } = segments;
  const parts = rollupParts(
    schema,
    'ledger_worker',
    `service_name, host_name, process_pid, attempts, failures, stalled, duration_count, duration_sum_ms,
      duration_buckets as b, last_seen`,
    segments,
    { sql: '', params: [] },
  );
  if (edges.length > 0) {
    const filter = edgeFilter(edges, (range) => ({
      sql: '(started_at >= ? and started_at < ?)',
      params: [range.since, range.until],
    }));
    parts.push({
      sql: `select coalesce(service_name, '') as service_name, coalesce(host_name, '') as host_name,
      coalesce(process_pid, -1) as process_pid, 1 as attempts, (outcome in ${FAILURE_OUTCOMES})::int as failures,
      (outcome = 'stalled')::int as stalled, 1 as duration_count, duration_ms::numeric as duration_sum_ms,
      ${oneHot(schema, 'duration_ms')} as b, ended_at as last_seen
    from ${attempts(schema)} where ${filter.sql}`,
      params: filter.params,
    });
  }
  if (parts.length === 0) return { sql: 'select 1 where false', params: [] };
  return {
    sql: `select nullif(service_name, '') as service_name, nullif(host_name, '') as host_name,
    nullif(process_pid, -1) as process_pid,
    sum(attempts)::int as attempts, sum(failures)::int as failures, sum(stalled)::int as stalled,
    sum(duration_count)::int as duration_count, sum(duration_sum_ms)::float8 as duration_sum_ms,
    ${SUMMED_BUCKETS} as duration_buckets, max(last_seen) as last_seen
  from (${parts.map((part) => part.sql).join('\n    union all\n    ')}) as x
  group by service_name, host_name, process_pid
  having sum(attempts) > 0
  order by sum(failures)::float8 / sum(attempts) desc, sum(attempts) desc, service_name, host_name, process_pid`,
    params: parts.flatMap((part) => part.params),
  };
}

/** The ranges merged where they overlap or touch, in time order. */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const merged: TimeRange[] = [];
  for (const range of [...ranges].sort((a, b) => a.since.getTime() - b.since.getTime())) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.since.getTime() <= last.until.getTime()) {
      if (range.until.getTime() > last.until.getTime())
        merged[merged.length - 1] = { since: last.since, until: range.until };
    } else merged.push(range);
  }
  return merged;
}

function completedIn(range: TimeRange): Query {
  return { sql: '(completed_at >= ? and completed_at < ?)', params: [range.since, range.until] };
}

/**
 * Completed and failed-for-good jobs per queue in several windows that all
 * end at `until` (the health judgement's 5 minutes to 3 days, and the range
 * asked for), in one statement: for window `w` (its index in `sinces`), whole
 * days and hours from the queue rollups, the partial hours from the records,
 * read and counted in one pass for all windows. The counts equal queueStatsQuery's.
 */
export function finalOutcomesByWindowQuery(schema: string, until: Date, sinces: readonly Date[]): Query {
  const windows = sinces.map((since) => windowSegments({ since, until }));
  const parts: Query[] = windows.flatMap((segments, w) =>
    rollupParts(schema, 'ledger_queue', `${w} as w, queue_name, completed_jobs, failed_jobs`, segments, {
      sql: '',
      params: [],
    }),
  );
  const withEdges = windows.flatMap((segments, w) => (segments.edges.length === 0 ? [] : [{ w, segments }]));
  if (withEdges.length > 0) {
    // Each record of the partial hours once: a flag per window it falls in, counted per queue, then one row per window.
    const flags = withEdges.map(({ w, segments }) => {
      const filter = edgeFilter(segments.edges, completedIn);
      return { sql: `${filter.sql} as in${w}`, params: filter.params };
    });
    const merged = edgeFilter(mergeRanges(withEdges.flatMap(({ segments }) => segments.edges)), completedIn);
    const counts = withEdges.map(
      ({ w }) =>
        `count(*) filter (where completed and in${w}) as c${w}, count(*) filter (where not completed and in${w}) as f${w}`,
    );
    parts.push({
      sql: `select v.w, e.queue_name, v.completed_jobs, v.failed_jobs
    from (
      select queue_name, ${counts.join(', ')}
      from (
        select queue_name, status = 'COMPLETED' as completed, ${flags.map((flag) => flag.sql).join(', ')}
        from ${records(schema)}
        where ${merged.sql} and (status = 'COMPLETED' or (status = 'FAILED' and final))
      ) as r
      group by queue_name
    ) as e
    cross join lateral (values ${withEdges.map(({ w }) => `(${w}, c${w}, f${w})`).join(', ')}) as v(w, completed_jobs, failed_jobs)`,
      params: [...flags.flatMap((flag) => flag.params), ...merged.params],
    });
  }
  if (parts.length === 0) return { sql: 'select 1 where false', params: [] };
  return {
    sql: `select w, queue_name, sum(completed_jobs)::int as completed_jobs, sum(failed_jobs)::int as failed_jobs
  from (${parts.map((part) => part.sql).join('\n    union all\n    ')}) as x
  group by w, queue_name
  having sum(completed_jobs) + sum(failed_jobs) > 0
  order by queue_name, w`,
    params: parts.flatMap((part) => part.params),
  };
}

/**
 * Failed and stalled attempts that started in the range, per worker identity
 * (service, host, pid, as workerStatsQuery groups them) and error name (named
 * as failureGroupsQuery names them), most frequent first.
 */
export function workerFailuresByErrorQuery(schema: string, range: TimeRange): Query {
  return {
    sql: `select nullif(service_name, '') as service_name, nullif(host_name, '') as host_name,
    nullif(process_pid, -1) as process_pid, error_name, count(*)::int as failures
  from (
    select coalesce(service_name, '') as service_name, coalesce(host_name, '') as host_name,
      coalesce(process_pid, -1) as process_pid,
      coalesce(error_details->>'name', case when outcome = 'stalled' then 'Stalled' else 'Error' end) as error_name
    from ${attempts(schema)}
    where outcome in ${FAILURE_OUTCOMES} and started_at >= ? and started_at < ?
  ) as f
  group by service_name, host_name, process_pid, error_name
  order by count(*) desc, service_name, host_name, process_pid, error_name`,
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

/**
 * Jobs whose newest attempt failed, that BullMQ will retry, after at least `minFailures` failed attempts.
 * `retry_count` counts the attempts before the newest one, and the newest one failed too: such a job
 * has failed `retry_count + 1` times (compared as `retry_count >= minFailures - 1`, which the index serves).
 */
export function stuckRetryingQuery(schema: string, minFailures: number, limit: number, queue?: string): Query {
  return {
    sql: `select ${JOB_COLUMNS}
  from ${records(schema)}
  where status = 'FAILED' and not final and retry_count >= ?${queue === undefined ? '' : ' and queue_name = ?'}
  order by retry_count desc, completed_at desc
  limit ?`,
    params: [minFailures - 1, ...(queue === undefined ? [] : [queue]), limit],
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

/** A bin width of the completion timeline. */
export type TimelineStep = '5 minutes' | 'hour' | 'day';

/**
 * Completed and failed-for-good jobs per bin, oldest first (empty bins left
 * out). Hourly and daily bins are whole UTC hours/days read from the queue
 * rollups (the first bin is the whole period `since` falls in); five-minute
 * bins are counted from the records.
 */
export function completionTimelineQuery(schema: string, range: TimeRange, step: TimelineStep, queue?: string): Query {
  const queueFilter = queue === undefined ? '' : ' and queue_name = ?';
  const queueParams = queue === undefined ? [] : [queue];
  if (step === '5 minutes') {
    return {
      sql: `select date_bin('5 minutes', completed_at, timestamptz '2000-01-01 00:00:00+00') as bin,
    count(*) filter (where status = 'COMPLETED')::int as completed_jobs,
    count(*) filter (where status = 'FAILED' and final)::int as failed_jobs
  from ${records(schema)}
  where completed_at >= ? and completed_at < ?${queueFilter}
  group by 1 order by 1`,
      params: [range.since, range.until, ...queueParams],
    };
  }
  return {
    sql: `select ${step} as bin, sum(completed_jobs)::int as completed_jobs, sum(failed_jobs)::int as failed_jobs
  from ${quoteIdentifier(schema)}."ledger_queue_${step}s"
  where ${step} >= date_trunc('${step}', ?::timestamptz at time zone 'UTC') at time zone 'UTC' and ${step} < ?${queueFilter}
  group by 1 order by 1`,
    params: [range.since, range.until, ...queueParams],
  };
}

/** The dashboard's job search; every field optional. */
export interface JobFilters {
  readonly queue?: string;
  readonly status?: 'PENDING' | 'COMPLETED' | 'FAILED';
  readonly final?: boolean;
  /** The job's name, exactly. */
  readonly name?: string;
  /** The BullMQ job id, exactly. */
  readonly jobId?: string;
  /** A service or host name that ran one of the job's attempts, exactly. */
  readonly worker?: string;
  /** Text in the error's name or message, case-insensitive. */
  readonly error?: string;
  /** The error's name exactly, as failure groups name it (`Error` when the error has none). */
  readonly errorName?: string;
  /** The job's time (see inWindow) from `since`, before `until`. */
  readonly since?: Date;
  readonly until?: Date;
}

/**
 * Where a page of jobs ended: the last row's sort key, `completed_at` in
 * microseconds since the epoch (as text: exact, where a Date would round
 * to the millisecond and skip rows) and the record id.
 */
export interface JobCursor {
  readonly completedAtMicros: string | null;
  readonly id: string;
}

const MICROS = `(extract(epoch from r.completed_at) * 1000000)::bigint`;
const FROM_MICROS = `(timestamptz 'epoch' + ?::bigint * interval '1 microsecond')`;

/** `%` and `_` in user text match themselves. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function jobFilterSql(schema: string, filters: JobFilters): Query {
  const parts: Query[] = [];
  const add = (sql: string, ...params: unknown[]): void => void parts.push({ sql, params });
  if (filters.queue !== undefined) add('r.queue_name = ?', filters.queue);
  if (filters.status !== undefined) add('r.status = ?', filters.status);
  if (filters.final !== undefined) add(filters.final ? 'r.final' : 'not r.final');
  if (filters.name !== undefined) add('r.job_name = ?', filters.name);
  if (filters.jobId !== undefined) add('r.job_id = ?', filters.jobId);
  if (filters.error !== undefined) {
    const pattern = likePattern(filters.error);
    // `is not null` lets the planner use the partial trigram indexes (Migration20261208000000SearchIndexes).
    add(
      `r.error_details is not null and (r.error_details->>'name' ilike ? or r.error_details->>'message' ilike ?)`,
      pattern,
      pattern,
    );
  }
  if (filters.errorName !== undefined) {
    add(`r.error_details is not null and coalesce(r.error_details->>'name', 'Error') = ?`, filters.errorName);
  }
  if (filters.worker !== undefined) {
    add(
      `exists (select 1 from ${attempts(schema)} as a where a.queue_name = r.queue_name and a.job_id = r.job_id
      and (a.service_name = ? or a.host_name = ?))`,
      filters.worker,
      filters.worker,
    );
  }
  if (filters.since !== undefined || filters.until !== undefined) {
    const since = filters.since ?? new Date(0);
    const until = filters.until ?? new Date('9999-12-31T00:00:00Z');
    if (filters.status === undefined || filters.status === 'PENDING') {
      add(
        `((r.completed_at >= ? and r.completed_at < ?) or (r.completed_at is null and r.status = 'PENDING' and r.enqueued_at >= ? and r.enqueued_at < ?))`,
        since,
        until,
        since,
        until,
      );
    } else {
      // A finished status: only the first half of the window rule can match, and it uses the indexes.
      add('r.completed_at >= ? and r.completed_at < ?', since, until);
    }
  }
  if (parts.length === 0) return { sql: 'true', params: [] };
  return { sql: parts.map((part) => part.sql).join(' and '), params: parts.flatMap((part) => part.params) };
}

/**
 * One page of matching jobs: jobs that have not ended yet first, then the most
 * recently ended; keyset pagination after `cursor` (no OFFSET).
 */
export function jobSearchQuery(schema: string, filters: JobFilters, limit: number, cursor?: JobCursor): Query {
  const where = jobFilterSql(schema, filters);
  let after: Query = { sql: '', params: [] };
  if (cursor !== undefined) {
    after =
      cursor.completedAtMicros === null
        ? { sql: ' and ((r.completed_at is null and r.id < ?) or r.completed_at is not null)', params: [cursor.id] }
        : {
            sql: ` and (r.completed_at < ${FROM_MICROS} or (r.completed_at = ${FROM_MICROS} and r.id < ?))`,
            params: [cursor.completedAtMicros, cursor.completedAtMicros, cursor.id],
          };
  }
  return {
    sql: `select ${JOB_COLUMNS.split(',')
      .map((column) => `r.${column.trim()}`)
      .join(', ')}, ${MICROS}::text as completed_at_micros
  from ${records(schema)} as r
  where ${where.sql}${after.sql}
  order by r.completed_at desc nulls first, r.id desc
  limit ?`,
    params: [...where.params, ...after.params, limit],
  };
}

/** How many jobs match, counting at most `cap` (so a broad search stays fast). */
export function jobCountQuery(schema: string, filters: JobFilters, cap: number): Query {
  const where = jobFilterSql(schema, filters);
  return {
    sql: `select count(*)::int as matches from (select 1 from ${records(schema)} as r where ${where.sql} limit ?) as m`,
    params: [...where.params, cap],
  };
}

/**
 * Failures grouped by queue and error name, most frequent first: jobs failed
 * for good (by the time their last attempt ended), or with `allAttempts`
 * every failed attempt (by when it started), each group with up to three
 * sample job ids, newest first.
 */
export function failureGroupsQuery(
  schema: string,
  range: TimeRange,
  options: { allAttempts: boolean; queue?: string; limit: number },
): Query {
  const queueFilter = options.queue === undefined ? '' : ' and queue_name = ?';
  const queueParams = options.queue === undefined ? [] : [options.queue];
  const source = options.allAttempts
    ? `select queue_name, job_id, coalesce(error_details->>'name', case when outcome = 'stalled' then 'Stalled' else 'Error' end) as error_name,
      ended_at as at from ${attempts(schema)}
    where outcome in ${FAILURE_OUTCOMES} and started_at >= ? and started_at < ?${queueFilter}`
    : `select queue_name, job_id, coalesce(error_details->>'name', 'Error') as error_name, completed_at as at
    from ${records(schema)}
    where status = 'FAILED' and final and completed_at >= ? and completed_at < ?${queueFilter}`;
  return {
    // Every attempt: per job first, so that a job failing many times is one sample, not three.
    // (Records hold one row per job already.)
    sql: options.allAttempts
      ? `select queue_name, error_name, sum(failures)::int as failures, min(first_at) as first_seen,
    max(last_at) as last_seen, (array_agg(job_id order by last_at desc nulls last))[1:3] as sample_job_ids
  from (
    select queue_name, error_name, job_id, count(*) as failures, min(at) as first_at, max(at) as last_at
    from (${source}) as f
    group by queue_name, error_name, job_id
  ) as j
  group by queue_name, error_name
  order by sum(failures) desc, queue_name, error_name
  limit ?`
      : `select queue_name, error_name, count(*)::int as failures, min(at) as first_seen, max(at) as last_seen,
    (array_agg(job_id order by at desc nulls last))[1:3] as sample_job_ids
  from (${source}) as f
  group by queue_name, error_name
  order by count(*) desc, queue_name, error_name
  limit ?`,
    params: [range.since, range.until, ...queueParams, options.limit],
  };
}
