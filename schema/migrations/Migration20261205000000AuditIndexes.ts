import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';

/**
 * Indexes for the audit queries (audit/audit-sql.ts): per-queue windows, recent
 * failures, pending jobs and jobs stuck retrying. Measured in bench/audit-queries.mjs
 * on 1,000,000 records.
 */
export class Migration20261205000000AuditIndexes extends Migration {
  override up(): void {
    const table = `${quoteIdentifier(this.config.get('schema') ?? 'public')}."worker_job_records"`;
    for (const [name, definition] of AUDIT_INDEXES) this.addSql(`create index "${name}" on ${table} ${definition};`);
  }

  override down(): void {
    const schema = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const [name] of AUDIT_INDEXES) this.addSql(`drop index if exists ${schema}."${name}";`);
  }
}

/** Name and definition of each index (also declared on the entity, so that schema diffs agree). */
export const AUDIT_INDEXES = [
  ['worker_job_records_queue_name_completed_at_index', '("queue_name", "completed_at")'],
  ['worker_job_records_status_completed_at_index', '("status", "completed_at")'],
  ['worker_job_records_pending_index', `("queue_name", "enqueued_at") where "status" = 'PENDING'`],
  ['worker_job_records_retrying_index', `("retry_count") where "status" = 'FAILED' and not "final"`],
] as const;
