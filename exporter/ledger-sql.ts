/**
 * The SQL that writes a batch: one multi-row upsert into `worker_job_records`
 * with the monotonic rule of record-order.ts, and one insert-if-absent into
 * `worker_job_attempts`. The rows travel as one JSON parameter, expanded by
 * `json_to_recordset`: a batch is two statements whatever its size, and
 * serialising it is one native JSON.stringify (a third less CPU in the worker
 * process than an array parameter per column). Only the schema name is part
 * of the text, quoted.
 */
import type { AttemptRow, RecordRow } from './ledger-rows';

export interface SqlStatement {
  readonly sql: string;
  readonly params: unknown[];
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Column, its key in RecordRow, and its type as read from the JSON. */
const RECORD_COLUMNS = [
  ['id', 'id', 'text'],
  ['job_id', 'jobId', 'text'],
  ['queue_name', 'queueName', 'text'],
  ['job_name', 'jobName', 'text'],
  ['status', 'status', 'text'],
  ['started_at', 'startedAt', 'float8'],
  ['completed_at', 'completedAt', 'float8'],
  ['duration_ms', 'durationMs', 'float8'],
  ['error_details', 'errorDetails', 'jsonb'],
  ['result_summary', 'resultSummary', 'jsonb'],
  ['metadata', 'metadata', 'jsonb'],
  ['retry_count', 'retryCount', 'int4'],
  ['enqueued_at', 'enqueuedAt', 'float8'],
  ['attempt', 'attempt', 'int4'],
  ['attempts_started', 'attemptsStarted', 'int4'],
  ['outcome', 'outcome', 'text'],
  ['final', 'final', 'bool'],
  ['trace_id', 'traceId', 'text'],
  ['span_id', 'spanId', 'text'],
] as const satisfies ReadonlyArray<readonly [string, keyof RecordRow, string]>;

const TIMESTAMPS: ReadonlySet<string> = new Set(['started_at', 'completed_at', 'enqueued_at', 'ended_at']);

/** `json_to_recordset(...) as i(...)` over the given columns, and the select list that converts them. */
function recordset(columns: ReadonlyArray<readonly [string, string, string]>): { from: string; select: string } {
  const definition = columns.map(([, key, type]) => `${quoteIdentifier(key)} ${type}`).join(', ');
  const select = columns
    .map(([column, key]) => {
      const value = `i.${quoteIdentifier(key)}`;
      return TIMESTAMPS.has(column) ? `to_timestamp(${value} / 1000.0)` : value;
    })
    .join(', ');
  return { from: `json_to_recordset($1::json) as i(${definition})`, select };
}

/** `rank` of record-order.ts: 0 for a row without an attempt (PENDING from a producer), 1 an attempt, 2 a final one. */
const rankOf = (row: 't' | 'excluded'): string =>
  `case when ${row}.final then 2 when ${row}.attempts_started > 0 or ${row}.attempt > 0 then 1 else 0 end`;

/**
 * The newest-wins rule of record-order.ts, on the stored row `t` and the
 * incoming `excluded`. From spans, a row without an attempt is insert-if-absent;
 * from BullMQ (reconciliation), whose enqueue times are the stored jobs' own, it
 * may start a new incarnation. Either way an attempt replaces a row without one.
 */
function incomingIsNewer(fromBullMQ: boolean): string {
  const ordered = `(
    coalesce(excluded.enqueued_at, t.enqueued_at, 'epoch'), excluded.attempts_started, excluded.attempt, ${rankOf('excluded')}
  ) > (
    coalesce(t.enqueued_at, excluded.enqueued_at, 'epoch'), t.attempts_started, t.attempt, ${rankOf('t')}
  )`;
  const replacesPending = `(${rankOf('excluded')} > 0 and ${rankOf('t')} = 0)`;
  return fromBullMQ
    ? `(${replacesPending} or ${ordered})`
    : `(${rankOf('excluded')} > 0 and (${rankOf('t')} = 0 or ${ordered}))`;
}

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

/**
 * Rows must be deduplicated by (queue_name, job_id) and sorted (see ledger-batch.ts).
 *
 * `fromBullMQ` (reconciliation): rows built from BullMQ's record of the job,
 * whose `processedOn` is not the span's start: they fill a missing start but
 * never move a known one. With it, the statement returns one row per inserted
 * or updated record, with `inserted` true for inserts (rows left unchanged
 * return nothing).
 */
export function upsertRecordsSql(
  schema: string,
  rows: readonly RecordRow[],
  { fromBullMQ = false } = {},
): SqlStatement {
  const table = `${quoteIdentifier(schema)}."worker_job_records"`;
  const columns = RECORD_COLUMNS.map(([column]) => column).join(', ');
  const { from, select } = recordset(RECORD_COLUMNS);
  const statusType = `${quoteIdentifier(schema)}."worker_job_status"`;
  const INCOMING_IS_NEWER = incomingIsNewer(fromBullMQ);
  const selectWithStatus = select.replace('i."status"', `i."status"::${statusType}`);
  const updates = [
    ...LATEST_ATTEMPT_COLUMNS.map(
      (column) => `"${column}" = case when ${INCOMING_IS_NEWER} then excluded."${column}" else t."${column}" end`,
    ),
    `"job_name" = coalesce(case when ${INCOMING_IS_NEWER} then excluded.job_name else t.job_name end, t.job_name, excluded.job_name)`,
    `"enqueued_at" = case when ${INCOMING_IS_NEWER} then coalesce(excluded.enqueued_at, t.enqueued_at) else coalesce(t.enqueued_at, excluded.enqueued_at) end`,
    fromBullMQ
      ? `"started_at" = case when ${NEW_INCARNATION} and ${INCOMING_IS_NEWER} then excluded.started_at else coalesce(t.started_at, excluded.started_at) end`
      : `"started_at" = case when ${NEW_INCARNATION} then (case when ${INCOMING_IS_NEWER} then excluded.started_at else t.started_at end) else least(t.started_at, excluded.started_at) end`,
    `"updated_at" = now()`,
  ].join(',\n    ');
  const sql = `insert into ${table} as t (${columns})
  select ${selectWithStatus}
  from ${from}
  on conflict (job_id, queue_name) do update set
    ${updates}
  where ${INCOMING_IS_NEWER}
    or ${
      fromBullMQ
        ? '(t.started_at is null and excluded.started_at is not null)'
        : `(t.started_at is distinct from least(t.started_at, excluded.started_at) and not ${NEW_INCARNATION})`
    }
    or (t.job_name is null and excluded.job_name is not null)
    or (t.enqueued_at is null and excluded.enqueued_at is not null)${fromBullMQ ? '\n  returning (xmax = 0) as inserted' : ''}`;
  return { sql, params: [JSON.stringify(rows)] };
}

const ATTEMPT_COLUMNS = [
  ['span_id', 'spanId', 'text'],
  ['trace_id', 'traceId', 'text'],
  ['queue_name', 'queueName', 'text'],
  ['job_id', 'jobId', 'text'],
  ['job_name', 'jobName', 'text'],
  ['attempt', 'attempt', 'int4'],
  ['attempts_started', 'attemptsStarted', 'int4'],
  ['outcome', 'outcome', 'text'],
  ['final', 'final', 'bool'],
  ['started_at', 'startedAt', 'float8'],
  ['ended_at', 'endedAt', 'float8'],
  ['duration_ms', 'durationMs', 'float8'],
  ['error_details', 'errorDetails', 'jsonb'],
  ['service_name', 'serviceName', 'text'],
  ['host_name', 'hostName', 'text'],
  ['process_pid', 'processPid', 'int4'],
  ['worker_name', 'workerName', 'text'],
] as const satisfies ReadonlyArray<readonly [string, keyof AttemptRow, string]>;

/** Append-only: a span already stored (a re-export, a replayed spool) is skipped. */
export function insertAttemptsSql(schema: string, rows: readonly AttemptRow[]): SqlStatement {
  const table = `${quoteIdentifier(schema)}."worker_job_attempts"`;
  const columns = ATTEMPT_COLUMNS.map(([column]) => column).join(', ');
  const { from, select } = recordset(ATTEMPT_COLUMNS);
  const sql = `insert into ${table} (${columns})
  select ${select} from ${from}
  on conflict (span_id) do nothing`;
  return { sql, params: [JSON.stringify(rows)] };
}
