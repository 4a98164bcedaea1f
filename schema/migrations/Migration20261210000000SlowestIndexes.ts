import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';

/**
 * Indexes for the slowest jobs (audit/audit-sql.ts `slowestJobsQuery`: `duration_ms is not null`,
 * a `completed_at` window, optionally one queue, `order by duration_ms desc`): the planner reads the
 * top N in duration order from the index instead of sorting every job of a wide window. `desc`
 * (nulls first) matches that ORDER BY; `completed_at` in the key is checked in the index, so the rows
 * of other windows are skipped without reading the table. Partial, so PENDING rows (no duration yet)
 * stay out. Measured in bench/audit-queries.mjs on 1,000,000 records.
 */
export class Migration20261210000000SlowestIndexes extends Migration {
  override up(): void {
    const table = `${quoteIdentifier(this.config.get('schema') ?? 'public')}."worker_job_records"`;
    for (const [name, definition] of SLOWEST_INDEXES) this.addSql(`create index "${name}" on ${table} ${definition};`);
  }

  override down(): void {
    const schema = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const [name] of SLOWEST_INDEXES) this.addSql(`drop index if exists ${schema}."${name}";`);
  }
}

/** Name and definition of each index (also declared on the entity, so that schema diffs agree). */
export const SLOWEST_INDEXES = [
  ['worker_job_records_slowest_index', '("duration_ms" desc, "completed_at") where "duration_ms" is not null'],
  [
    'worker_job_records_queue_name_slowest_index',
    '("queue_name", "duration_ms" desc, "completed_at") where "duration_ms" is not null',
  ],
] as const;
