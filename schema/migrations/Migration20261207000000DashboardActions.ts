import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';

/**
 * `ledger_dashboard_actions`: every use of a dashboard action (who, what,
 * on which job, when, and how it ended), append-only, so that a retry done
 * from the page is itself on the record.
 */
export class Migration20261207000000DashboardActions extends Migration {
  override up(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    this.addSql(`create table ${s}."${DASHBOARD_ACTIONS_TABLE}" (
  "id" bigserial primary key,
  "at" timestamptz not null default now(),
  "actor" text not null,
  "action" text not null,
  "queue_name" text not null,
  "job_id" text not null,
  "result" text not null,
  "detail" text null
);`);
    this.addSql(
      `create index "${DASHBOARD_ACTIONS_TABLE}_job_index" on ${s}."${DASHBOARD_ACTIONS_TABLE}" ("queue_name", "job_id");`,
    );
  }

  override down(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    this.addSql(`drop table if exists ${s}."${DASHBOARD_ACTIONS_TABLE}";`);
  }
}

export const DASHBOARD_ACTIONS_TABLE = 'ledger_dashboard_actions';
