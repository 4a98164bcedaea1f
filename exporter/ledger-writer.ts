/**
 * Writes prepared batches through MikroORM's connection: the record upsert and
 * the attempt insert in one transaction, deadlocks retried, the ledger's own
 * queries never traced (an instrumented pg driver would otherwise feed spans
 * about the ledger back into it).
 */
import { context } from '@opentelemetry/api';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/postgresql';
import { readProperty, readString } from '../src/safe-read';
import type { PreparedBatch } from './ledger-batch';
import { insertAttemptsSql, upsertRecordsSql } from './ledger-sql';
import { suppressTracing } from './otel-sdk-contract';

const DEADLOCK = '40P01';
const MAX_DEADLOCK_RETRIES = 5;

export class LedgerWriter {
  private readonly schema: string;

  constructor(private readonly orm: MikroORM) {
    this.schema = orm.config.get('schema') ?? 'public';
  }

  async write(batch: PreparedBatch): Promise<void> {
    if (batch.records.length === 0 && batch.attempts.length === 0) return;
    const connection = sqlConnection(this.orm);
    const upsert = upsertRecordsSql(this.schema, batch.records);
    const insert = insertAttemptsSql(this.schema, batch.attempts);
    await context.with(suppressTracing(context.active()), async () => {
      for (let retry = 0; ; retry++) {
        try {
          await connection.transactional(async (trx) => {
            if (batch.records.length > 0) await connection.execute(upsert.sql, upsert.params, 'run', trx);
            if (batch.attempts.length > 0) await connection.execute(insert.sql, insert.params, 'run', trx);
          });
          return;
        } catch (err) {
          if (sqlState(err) !== DEADLOCK || retry >= MAX_DEADLOCK_RETRIES) throw err;
          // Keys are sorted, so this needs a writer that does not sort; back off and try again.
          await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * (retry + 1)));
        }
      }
    });
  }
}

/** The SQLSTATE of a database error (MikroORM keeps pg's `code`), if there is one. */
export function sqlState(err: unknown): string | undefined {
  const code = readString(err, 'code');
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors that a row's own values cause (SQLSTATE class 22 data exception, 23
 * integrity constraint): retrying the same batch cannot help.
 */
export function isRowError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** A one-line explanation of a write failure, with what to do when there is something to do. */
export function describeWriteError(err: unknown): string {
  const state = sqlState(err);
  const message = readString(err, 'message') ?? String(err);
  if (state === '42P01') {
    return `the ledger tables do not exist (${message}): run migrateLedger(orm) from bullmq-ledger/schema, or add ledgerMigrations to your migrations`;
  }
  const code = readString(err, 'code') ?? readString(readProperty(err, 'cause'), 'code');
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET') {
    return `the ledger database is unreachable (${message}); rows wait in memory and in the spool until it answers`;
  }
  return message;
}

function sqlConnection(orm: MikroORM): AbstractSqlConnection {
  const connection: unknown = orm.em.getConnection();
  if (!isSqlConnection(connection)) {
    throw new TypeError('bullmq-ledger: the ledger needs a MikroORM instance on PostgreSQL (@mikro-orm/postgresql).');
  }
  return connection;
}

function isSqlConnection(value: unknown): value is AbstractSqlConnection {
  return typeof readProperty(value, 'transactional') === 'function' && typeof readProperty(value, 'execute') === 'function';
}
