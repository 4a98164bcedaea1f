import { Migration } from '@mikro-orm/migrations';

/**
 * Creates the ledger: `worker_job_records` (one row per job), its status enum,
 * and `worker_job_attempts` (one row per attempt). In the ORM's configured
 * schema (`schema` option; PostgreSQL's default otherwise).
 */
export class Migration20261204000000CreateLedger extends Migration {
  override up(): void {
    const s = schemaOf(this.config.get('schema'));
    this.addSql(`create schema if not exists ${s};`);
    this.addSql(`create type ${s}."worker_job_status" as enum ('PENDING', 'COMPLETED', 'FAILED');`);
    this.addSql(
      `create table ${s}."worker_job_records" (` +
        `"id" text not null, "job_id" text not null, "queue_name" text not null, "job_name" text null, ` +
        `"status" ${s}."worker_job_status" not null default 'PENDING', ` +
        `"started_at" timestamptz null, "completed_at" timestamptz null, "duration_ms" double precision null, ` +
        `"error_details" jsonb null, "result_summary" jsonb null, "metadata" jsonb null, ` +
        `"retry_count" int not null default 0, "enqueued_at" timestamptz null, ` +
        `"attempt" int not null default 0, "attempts_started" int not null default 0, "outcome" text null, ` +
        `"final" boolean not null default false, "trace_id" text null, "span_id" text null, ` +
        `"created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), ` +
        `constraint "worker_job_records_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table ${s}."worker_job_records" add constraint "worker_job_records_job_id_queue_name_unique" unique ("job_id", "queue_name");`,
    );
    for (const column of ['queue_name', 'status', 'started_at', 'completed_at']) {
      this.addSql(`create index "worker_job_records_${column}_index" on ${s}."worker_job_records" ("${column}");`);
    }
    this.addSql(
      `create table ${s}."worker_job_attempts" (` +
        `"span_id" text not null, "trace_id" text not null, "queue_name" text not null, "job_id" text not null, ` +
        `"job_name" text null, "attempt" int not null, "attempts_started" int not null default 0, ` +
        `"outcome" text not null, "final" boolean not null, ` +
        `"started_at" timestamptz not null, "ended_at" timestamptz not null, "duration_ms" double precision not null, ` +
        `"error_details" jsonb null, "service_name" text null, "host_name" text null, "process_pid" int null, ` +
        `"worker_name" text null, "created_at" timestamptz not null default now(), ` +
        `constraint "worker_job_attempts_pkey" primary key ("span_id"));`,
    );
    this.addSql(
      `create index "worker_job_attempts_queue_name_job_id_index" on ${s}."worker_job_attempts" ("queue_name", "job_id");`,
    );
    this.addSql(`create index "worker_job_attempts_started_at_index" on ${s}."worker_job_attempts" ("started_at");`);
  }

  override down(): void {
    const s = schemaOf(this.config.get('schema'));
    this.addSql(`drop table if exists ${s}."worker_job_attempts";`);
    this.addSql(`drop table if exists ${s}."worker_job_records";`);
    this.addSql(`drop type if exists ${s}."worker_job_status";`);
  }
}

/** The quoted schema name; `public` when the ORM sets none. */
function schemaOf(configured: string | undefined): string {
  return quoteIdentifier(configured ?? 'public');
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
