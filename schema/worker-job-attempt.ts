import { defineEntity, p } from '@mikro-orm/core';
import type { InferEntity } from '@mikro-orm/core';
import type { ErrorDetailsColumn } from './worker-job-record';

/**
 * One row per attempt span, append-only (never updated): every attempt of
 * every job, with the worker that ran it. `span_id` is the key, so exporting
 * the same span twice stores it once.
 */
export const WorkerJobAttempt = defineEntity({
  name: 'WorkerJobAttempt',
  tableName: 'worker_job_attempts',
  properties: {
    spanId: p.text().primary(),
    traceId: p.text(),
    queueName: p.text(),
    jobId: p.text(),
    jobName: p.text().nullable(),
    attempt: p.integer(),
    attemptsStarted: p.integer().default(0),
    /** `completed`, `retry`, `failed`, `delayed`, `rate-limited`, `waiting-children`, `waiting` or `stalled`. */
    outcome: p.text(),
    final: p.boolean(),
    startedAt: p.datetime().columnType('timestamptz'),
    endedAt: p.datetime().columnType('timestamptz'),
    durationMs: p.double().columnType('double precision'),
    errorDetails: p.json<ErrorDetailsColumn>().columnType('jsonb').nullable(),
    /** The worker's identity, from the span's resource and BullMQ's worker name. */
    serviceName: p.text().nullable(),
    hostName: p.text().nullable(),
    processPid: p.integer().nullable(),
    workerName: p.text().nullable(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  indexes: [
    { name: 'worker_job_attempts_queue_name_job_id_index', properties: ['queueName', 'jobId'] },
    { name: 'worker_job_attempts_started_at_index', properties: ['startedAt'] },
    // The dashboard's worker filter (Migration20261208000000SearchIndexes).
    { name: 'worker_job_attempts_service_name_index', properties: ['serviceName'] },
    { name: 'worker_job_attempts_host_name_index', properties: ['hostName'] },
  ],
});

export type WorkerJobAttempt = InferEntity<typeof WorkerJobAttempt>;
