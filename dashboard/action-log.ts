/**
 * Writes one row of `ledger_dashboard_actions` per use of a dashboard action:
 * written `requested` before the action runs (no action without its row),
 * then given its result.
 */
import type { MikroORM } from '@mikro-orm/core';
import { quoteIdentifier } from '../exporter/ledger-sql';
import { DASHBOARD_ACTIONS_TABLE } from '../schema/migrations/Migration20261207000000DashboardActions';

export interface ActionEntry {
  readonly actor: string;
  readonly action: 'retry';
  readonly queueName: string;
  readonly jobId: string;
  /** `requested` (running, or its end could not be written), `retried`, `conflict` (BullMQ no longer holds the job, or it is not failed), `error`. */
  readonly result: 'requested' | 'retried' | 'conflict' | 'error';
  readonly detail?: string;
}

function actionsTable(orm: MikroORM): string {
  return `${quoteIdentifier(orm.config.get('schema') ?? 'public')}.${quoteIdentifier(DASHBOARD_ACTIONS_TABLE)}`;
}

/** Inserts the row; returns its id. */
export async function logAction(orm: MikroORM, entry: ActionEntry): Promise<string> {
  const rows: unknown = await orm.em
    .getConnection()
    .execute(
      `insert into ${actionsTable(orm)} ("actor", "action", "queue_name", "job_id", "result", "detail") values (?, ?, ?, ?, ?, ?) returning "id"::text as id`,
      [
        entry.actor.slice(0, 200),
        entry.action,
        entry.queueName,
        entry.jobId,
        entry.result,
        entry.detail?.slice(0, 1000) ?? null,
      ],
      'all',
    );
  const first: unknown = Array.isArray(rows) ? rows[0] : undefined;
  const id: unknown = typeof first === 'object' && first !== null && 'id' in first ? first.id : undefined;
  if (typeof id !== 'string') throw new Error('the action log did not return the id of its row');
  return id;
}

/** Sets the result of a row written `requested`. */
export async function finishAction(
  orm: MikroORM,
  id: string,
  result: ActionEntry['result'],
  detail: string | undefined,
): Promise<void> {
  await orm.em
    .getConnection()
    .execute(
      `update ${actionsTable(orm)} set "result" = ?, "detail" = ? where "id" = ?::bigint`,
      [result, detail?.slice(0, 1000) ?? null, id],
      'run',
    );
}
