import { defineEntity, p } from '@mikro-orm/core';
import type { InferEntity } from '@mikro-orm/core';

/** A job's state as the ledger records it. */
export const JOB_STATUSES = ['PENDING', 'COMPLETED', 'FAILED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** `error_details`: what the ledger keeps of a failure (bounded by the instrumentation's caps). */
export interface ErrorDetailsColumn {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/**
 * One row per job (`queue_name`, `job_id`), always showing the job's newest
 * attempt: the ledger's audit table. Written by `LedgerSpanExporter` with a
 * monotonic upsert, never by `em.flush()`; read it like any entity.
 */
export const WorkerJobRecord = defineEntity({
  name: 'WorkerJobRecord',
  tableName: 'worker_job_records',
  properties: {
    /** `{queue}:{jobId}` (BullMQ forbids `:` in queue names, so this is unambiguous). */
    id: p.text().primary(),
    jobId: p.text(),
    queueName: p.text(),
    jobName: p.text().nullable(),
    status: p
      .enum([...JOB_STATUSES])
      .nativeEnumName('worker_job_status')
      .default('PENDING'),
    /** Start of the first attempt. */
    startedAt: p.datetime().columnType('timestamptz').nullable(),
    /** End of the newest attempt. */
    completedAt: p.datetime().columnType('timestamptz').nullable(),
    /** Duration of the newest attempt. */
    durationMs: p.double().columnType('double precision').nullable(),
    errorDetails: p.json<ErrorDetailsColumn>().columnType('jsonb').nullable(),
    resultSummary: p.json<unknown>().columnType('jsonb').nullable(),
    metadata: p.json<unknown>().columnType('jsonb').nullable(),
    /** Failed attempts before the newest one. */
    retryCount: p.integer().default(0),
    enqueuedAt: p.datetime().columnType('timestamptz').nullable(),
    /** 1-based number of the attempt this row shows; 0 while the job has not started. */
    attempt: p.integer().default(0),
    /** BullMQ's `attemptsStarted` for that attempt: orders attempts that share a number. */
    attemptsStarted: p.integer().default(0),
    /** The newest attempt's outcome (`completed`, `retry`, `failed`, `delayed`, `stalled`, ...). */
    outcome: p.text().nullable(),
    /** No further attempt will run: completed, or failed for good. */
    final: p.boolean().default(false),
    /** The newest attempt's trace and span: the link from the audit row to the tracing backend. */
    traceId: p.text().nullable(),
    spanId: p.text().nullable(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  uniques: [{ name: 'worker_job_records_job_id_queue_name_unique', properties: ['jobId', 'queueName'] }],
  indexes: [
    { name: 'worker_job_records_queue_name_index', properties: ['queueName'] },
    { name: 'worker_job_records_status_index', properties: ['status'] },
    { name: 'worker_job_records_started_at_index', properties: ['startedAt'] },
    { name: 'worker_job_records_completed_at_index', properties: ['completedAt'] },
    // The audit queries' indexes (Migration20261205000000AuditIndexes).
    { name: 'worker_job_records_queue_name_completed_at_index', properties: ['queueName', 'completedAt'] },
    { name: 'worker_job_records_status_completed_at_index', properties: ['status', 'completedAt'] },
    {
      name: 'worker_job_records_pending_index',
      expression: `create index "worker_job_records_pending_index" on "worker_job_records" ("queue_name", "enqueued_at") where "status" = 'PENDING'`,
    },
    {
      name: 'worker_job_records_retrying_index',
      expression: `create index "worker_job_records_retrying_index" on "worker_job_records" ("retry_count") where "status" = 'FAILED' and not "final"`,
    },
    // The dashboard's search indexes (Migration20261208000000SearchIndexes).
    {
      name: 'worker_job_records_failed_final_index',
      expression: `create index "worker_job_records_failed_final_index" on "worker_job_records" ("completed_at") where "status" = 'FAILED' and "final"`,
    },
    // Only where pg_trgm could be installed (see the migration).
    {
      name: 'worker_job_records_error_name_trgm_index',
      expression: `create index "worker_job_records_error_name_trgm_index" on "worker_job_records" using gin (("error_details"->>'name') gin_trgm_ops) where "error_details" is not null`,
    },
    {
      name: 'worker_job_records_error_message_trgm_index',
      expression: `create index "worker_job_records_error_message_trgm_index" on "worker_job_records" using gin (("error_details"->>'message') gin_trgm_ops) where "error_details" is not null`,
    },
    // The slowest jobs' indexes (Migration20261210000000SlowestIndexes).
    {
      name: 'worker_job_records_slowest_index',
      expression: `create index "worker_job_records_slowest_index" on "worker_job_records" ("duration_ms" desc, "completed_at") where "duration_ms" is not null`,
    },
    {
      name: 'worker_job_records_queue_name_slowest_index',
      expression: `create index "worker_job_records_queue_name_slowest_index" on "worker_job_records" ("queue_name", "duration_ms" desc, "completed_at") where "duration_ms" is not null`,
    },
  ],
});

export type WorkerJobRecord = InferEntity<typeof WorkerJobRecord>;
