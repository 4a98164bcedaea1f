/** Writes one row of `ledger_dashboard_actions` per use of a dashboard action. */
import type { MikroORM } from '@mikro-orm/core';
import { quoteIdentifier } from '../exporter/ledger-sql';
import { DASHBOARD_ACTIONS_TABLE } from '../schema/migrations/Migration20261207000000DashboardActions';

export interface ActionEntry {
  readonly actor: string;
  readonly action: 'retry';
  readonly queueName: string;
  readonly jobId: string;
  /** `retried`, `conflict` (BullMQ no longer holds the job, or it is not failed), `error`. */
  readonly result: 'retried' | 'conflict' | 'error';
  readonly detail?: string;
}

export async function logAction(orm: MikroORM, entry: ActionEntry): Promise<void> {
  const table = `${quoteIdentifier(orm.config.get('schema') ?? 'public')}.${quoteIdentifier(DASHBOARD_ACTIONS_TABLE)}`;
  await orm.em
    .getConnection()
    .execute(
      `insert into ${table} ("actor", "action", "queue_name", "job_id", "result", "detail") values (?, ?, ?, ?, ?, ?)`,
      [
        entry.actor.slice(0, 200),
        entry.action,
        entry.queueName,
        entry.jobId,
        entry.result,
        entry.detail?.slice(0, 1000) ?? null,
      ],
      'run',
    );
}
