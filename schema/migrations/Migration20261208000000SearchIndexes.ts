import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';

/**
 * Indexes for the dashboard's job search (bench/dashboard-render.mjs on
 * 1,000,000 records): jobs failed for good by time, attempts by worker, and
 * substring search in error names and messages. The last needs the pg_trgm
 * extension (shipped with PostgreSQL's contrib, trusted since PostgreSQL 13):
 * the migration creates it when it may, and otherwise leaves those two
 * indexes out (the search still works, by scanning).
 */
export class Migration20261208000000SearchIndexes extends Migration {
  override up(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const [name, table, definition] of SEARCH_INDEXES) {
      this.addSql(`create index "${name}" on ${s}."${table}" ${definition};`);
    }
    const trigramIndexes = TRIGRAM_INDEXES.map(
      ([name, key]) =>
        `execute format('create index "${name}" on ${s.replace(/'/g, "''")}."worker_job_records" using gin ((${key.replace(/'/g, "''")}) %I.gin_trgm_ops) where "error_details" is not null', ext_schema);`,
    ).join('\n    ');
    this.addSql(`do $$
declare ext_schema name;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_trgm')
     and exists (select 1 from pg_available_extensions where name = 'pg_trgm') then
    begin
      -- In public when it exists, so that dropping the ledger's schema never drops the extension.
      if exists (select 1 from pg_namespace where nspname = 'public') then
        create extension if not exists pg_trgm schema public;
      else
        create extension if not exists pg_trgm;
      end if;
    exception
      when insufficient_privilege then
        raise notice 'bullmq-ledger: no permission to create the pg_trgm extension; error search will scan';
      when duplicate_object or unique_violation then
        null; -- created at the same moment by another process
    end;
  end if;
  select n.nspname into ext_schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm';
  if ext_schema is not null then
    ${trigramIndexes}
  end if;
end $$;`);
  }

  override down(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const [name] of [...SEARCH_INDEXES, ...TRIGRAM_INDEXES]) this.addSql(`drop index if exists ${s}."${name}";`);
  }
}

/** Name, table and definition of each plain index (also declared on the entities, so that schema diffs agree). */
export const SEARCH_INDEXES = [
  [
    'worker_job_records_failed_final_index',
    'worker_job_records',
    `("completed_at") where "status" = 'FAILED' and "final"`,
  ],
  ['worker_job_attempts_service_name_index', 'worker_job_attempts', '("service_name")'],
  ['worker_job_attempts_host_name_index', 'worker_job_attempts', '("host_name")'],
] as const;

/** Trigram indexes on the error's name and message, when pg_trgm is there. */
export const TRIGRAM_INDEXES = [
  ['worker_job_records_error_name_trgm_index', `"error_details"->>'name'`],
  ['worker_job_records_error_message_trgm_index', `"error_details"->>'message'`],
] as const;
