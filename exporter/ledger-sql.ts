/**
 * The SQL that writes a batch: one multi-row upsert into `worker_job_records`
 * with the monotonic rule of record-order.ts, and one insert-if-absent into
 * `worker_job_attempts`. Each column travels as one array parameter (`$n`,
 * expanded by `unnest`): a batch is two statements whatever its size. Only the
 * schema name is part of the text, quoted.
 */
import type { AttemptRow, RecordRow } from './ledger-rows';

export interface SqlStatement {
  readonly sql: string;
  readonly params: unknown[];
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const RECORD_COLUMNS = [
  ['id', 'text'],
  ['job_id', 'text'],
  ['queue_name', 'text'],
  ['job_name', 'text'],
  ['status', 'text'],
  ['started_at', 'float8'],
  ['completed_at', 'float8'],
  ['duration_ms', 'float8'],
  ['error_details', 'text'],
  ['result_summary', 'text'],
  ['metadata', 'text'],
  ['retry_count', 'int4'],
  ['enqueued_at', 'float8'],
  ['attempt', 'int4'],
  ['attempts_started', 'int4'],
  ['outcome', 'text'],
  ['final', 'bool'],
  ['trace_id', 'text'],
  ['span_id', 'text'],
] as const;

/** The newest-wins rule of record-order.ts, on the stored row `t` and the incoming `excluded`. */
const INCOMING_IS_NEWER = `(
    coalesce(excluded.enqueued_at, t.enqueued_at, 'epoch'), excluded.attempts_started, excluded.attempt,
    case when excluded.final then 2 when excluded.attempts_started > 0 or excluded.attempt > 0 then 1 else 0 end
  ) > (
    coalesce(t.enqueued_at, excluded.enqueued_at, 'epoch'), t.attempts_started, t.attempt,
    case when t.final then 2 when t.attempts_started > 0 or t.attempt > 0 then 1 else 0 end
  )`;

const NEW_INCARNATION = `(excluded.enqueued_at is not null and t.enqueued_at is not null and excluded.enqueued_at <> t.enqueued_at)`;

/** Columns that show the newest attempt: taken from the incoming row only when it is newer. */
const LATEST_ATTEMPT_COLUMNS = [
  'status',
  'completed_at',
  'duration_ms',
  'error_details',
  'result_summary',
  'metadata',
  'retry_count',
  'attempt',
  'attempts_started',
  'outcome',
  'final',
  'trace_id',
  'span_id',
] as const;

/** Rows must be deduplicated by (queue_name, job_id) and sorted (see ledger-batch.ts). */
export function upsertRecordsSql(schema: string, rows: readonly RecordRow[]): SqlStatement {
  const table = `${quoteIdentifier(schema)}."worker_job_records"`;
  const statusType = `${quoteIdentifier(schema)}."worker_job_status"`;
  const columns = RECORD_COLUMNS.map(([name]) => name).join(', ');
  const arrays = RECORD_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const timestamp = (column: string): string => `to_timestamp(i.${column} / 1000.0)`;
  const select = [
    'i.id, i.job_id, i.queue_name, i.job_name',
    `i.status::${statusType}`,
    timestamp('started_at'),
    timestamp('completed_at'),
    'i.duration_ms',
    'i.error_details::jsonb, i.result_summary::jsonb, i.metadata::jsonb',
    'i.retry_count',
    timestamp('enqueued_at'),
    'i.attempt, i.attempts_started, i.outcome, i.final, i.trace_id, i.span_id',
  ].join(', ');
  const updates = [
    ...LATEST_ATTEMPT_COLUMNS.map(
      (column) => `"${column}" = case when ${INCOMING_IS_NEWER} then excluded."${column}" else t."${column}" end`,
    ),
    `"job_name" = coalesce(case when ${INCOMING_IS_NEWER} then excluded.job_name else t.job_name end, t.job_name, excluded.job_name)`,
    `"enqueued_at" = case when ${INCOMING_IS_NEWER} then coalesce(excluded.enqueued_at, t.enqueued_at) else coalesce(t.enqueued_at, excluded.enqueued_at) end`,
    `"started_at" = case when ${NEW_INCARNATION} then (case when ${INCOMING_IS_NEWER} then excluded.started_at else t.started_at end) else least(t.started_at, excluded.started_at) end`,
    `"updated_at" = now()`,
  ].join(',\n    ');
  const sql = `insert into ${table} as t (${columns})
  select ${select}
  from unnest(${arrays}) as i(${columns})
  on conflict (job_id, queue_name) do update set
    ${updates}
  where ${INCOMING_IS_NEWER}
    or (t.started_at is distinct from least(t.started_at, excluded.started_at) and not ${NEW_INCARNATION})
    or (t.job_name is null and excluded.job_name is not null)
    or (t.enqueued_at is null and excluded.enqueued_at is not null)`;
  const params = RECORD_COLUMNS.map(([name]) => rows.map((row) => recordValue(row, name)));
  return { sql, params };
}

function recordValue(row: RecordRow, column: (typeof RECORD_COLUMNS)[number][0]): unknown {
  switch (column) {
    case 'id':
      return row.id;
    case 'job_id':
      return row.jobId;
    case 'queue_name':
      return row.queueName;
    case 'job_name':
      return row.jobName;
    case 'status':
      return row.status;
    case 'started_at':
      return row.startedAt;
    case 'completed_at':
      return row.completedAt;
    case 'duration_ms':
      return row.durationMs;
    case 'error_details':
      return jsonText(row.errorDetails);
    case 'result_summary':
      return jsonText(row.resultSummary);
    case 'metadata':
      return jsonText(row.metadata);
    case 'retry_count':
      return row.retryCount;
    case 'enqueued_at':
      return row.enqueuedAt;
    case 'attempt':
      return row.attempt;
    case 'attempts_started':
      return row.attemptsStarted;
    case 'outcome':
      return row.outcome;
    case 'final':
      return row.final;
    case 'trace_id':
      return row.traceId;
    case 'span_id':
      return row.spanId;
  }
}

const ATTEMPT_COLUMNS = [
  ['span_id', 'text'],
  ['trace_id', 'text'],
  ['queue_name', 'text'],
  ['job_id', 'text'],
  ['job_name', 'text'],
  ['attempt', 'int4'],
  ['attempts_started', 'int4'],
  ['outcome', 'text'],
  ['final', 'bool'],
  ['started_at', 'float8'],
  ['ended_at', 'float8'],
  ['duration_ms', 'float8'],
  ['error_details', 'text'],
  ['service_name', 'text'],
  ['host_name', 'text'],
  ['process_pid', 'int4'],
  ['worker_name', 'text'],
] as const;

/** Append-only: a span already stored (a re-export, a replayed spool) is skipped. */
export function insertAttemptsSql(schema: string, rows: readonly AttemptRow[]): SqlStatement {
  const table = `${quoteIdentifier(schema)}."worker_job_attempts"`;
  const columns = ATTEMPT_COLUMNS.map(([name]) => name).join(', ');
  const arrays = ATTEMPT_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const select = ATTEMPT_COLUMNS.map(([name]) => {
    if (name === 'started_at' || name === 'ended_at') return `to_timestamp(i.${name} / 1000.0)`;
    if (name === 'error_details') return 'i.error_details::jsonb';
    return `i.${name}`;
  }).join(', ');
  const sql = `insert into ${table} (${columns})
  select ${select} from unnest(${arrays}) as i(${columns})
  on conflict (span_id) do nothing`;
  const params = ATTEMPT_COLUMNS.map(([name]) => rows.map((row) => attemptValue(row, name)));
  return { sql, params };
}

function attemptValue(row: AttemptRow, column: (typeof ATTEMPT_COLUMNS)[number][0]): unknown {
  switch (column) {
    case 'span_id':
      return row.spanId;
    case 'trace_id':
      return row.traceId;
    case 'queue_name':
      return row.queueName;
    case 'job_id':
      return row.jobId;
    case 'job_name':
      return row.jobName;
    case 'attempt':
      return row.attempt;
    case 'attempts_started':
      return row.attemptsStarted;
    case 'outcome':
      return row.outcome;
    case 'final':
      return row.final;
    case 'started_at':
      return row.startedAt;
    case 'ended_at':
      return row.endedAt;
    case 'duration_ms':
      return row.durationMs;
    case 'error_details':
      return jsonText(row.errorDetails);
    case 'service_name':
      return row.serviceName;
    case 'host_name':
      return row.hostName;
    case 'process_pid':
      return row.processPid;
    case 'worker_name':
      return row.workerName;
  }
}

/** JSON for a jsonb column, or null. Rows are sanitised for PostgreSQL before (see pg-safe.ts). */
function jsonText(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
