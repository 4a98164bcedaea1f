/**
 * Writes prepared batches on MikroORM's own connection pool (so the host's
 * connection settings apply): the record upsert and the attempt insert in one
 * transaction, deadlocks retried, the ledger's own queries never traced (an
 * instrumented pg driver would otherwise feed spans about the ledger back into
 * it). The statements go to the pool's pg connection with native array
 * parameters: MikroORM's `execute` would format every value into the SQL text
 * first, which costs more than the database's own work for these batches.
 */
import { context } from '@opentelemetry/api';
import type { MikroORM } from '@mikro-orm/core';
import { readProperty, readString } from '../src/safe-read';
import type { PreparedBatch } from './ledger-batch';
import { insertAttemptsSql, upsertRecordsSql } from './ledger-sql';
import type { SqlStatement } from './ledger-sql';
import { suppressTracing } from './otel-sdk-contract';

const DEADLOCK = '40P01';
const MAX_DEADLOCK_RETRIES = 5;

/** The pool's pg connection, as much of it as the writer uses. */
interface PgConnection {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** The knex client behind MikroORM's connection: its pool. */
interface ConnectionPool {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}

export class LedgerWriter {
  private readonly schema: string;

  constructor(private readonly orm: MikroORM) {
    this.schema = orm.config.get('schema') ?? 'public';
  }

  async write(batch: PreparedBatch): Promise<void> {
    const statements: SqlStatement[] = [];
    if (batch.records.length > 0) statements.push(upsertRecordsSql(this.schema, batch.records));
    if (batch.attempts.length > 0) statements.push(insertAttemptsSql(this.schema, batch.attempts));
    if (statements.length > 0) await this.run(statements);
  }

  /**
   * Upserts records built from BullMQ's own record of the jobs (reconciliation),
   * with the same rule, and says how many were inserted and updated; the others
   * were left unchanged.
   */
  async upsertRecords(batch: PreparedBatch): Promise<{ inserted: number; updated: number }> {
    if (batch.records.length === 0) return { inserted: 0, updated: 0 };
    const [result] = await this.run([upsertRecordsSql(this.schema, batch.records, { fromBullMQ: true })]);
    const rows = readProperty(result, 'rows');
    const changed = Array.isArray(rows) ? rows : [];
    const inserted = changed.filter((row) => readProperty(row, 'inserted') === true).length;
    return { inserted, updated: changed.length - inserted };
  }

  /** Runs the statements in one transaction, retrying deadlocks; returns each statement's result. */
  private async run(statements: readonly SqlStatement[]): Promise<unknown[]> {
    return context.with(suppressTracing(context.active()), async () => {
      for (let retry = 0; ; retry++) {
        try {
          return await this.transaction(statements);
        } catch (err) {
          if (sqlState(err) !== DEADLOCK || retry >= MAX_DEADLOCK_RETRIES) throw err;
          // Keys are sorted, so this needs a writer that does not sort; back off and try again.
          await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * (retry + 1)));
        }
      }
    });
  }

  private async transaction(statements: readonly SqlStatement[]): Promise<unknown[]> {
    const pool = connectionPool(this.orm);
    const acquired = await pool.acquireConnection();
    if (!isPgConnection(acquired)) {
      pool.releaseConnection(acquired);
      throw new TypeError('bullmq-ledger: the ledger needs a MikroORM instance on PostgreSQL (@mikro-orm/postgresql).');
    }
    try {
      const results: unknown[] = [];
      await acquired.query('begin');
      for (const { sql, params } of statements) results.push(await acquired.query(sql, params));
      await acquired.query('commit');
      return results;
    } catch (err) {
      await acquired.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      pool.releaseConnection(acquired);
    }
  }
}

/** The SQLSTATE of a database error (pg's `code`, kept by MikroORM's exceptions), if there is one. */
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
  if (state === '42P01' || state === '42704') {
    return `the ledger tables do not exist (${message}): run migrateLedger(orm) from bullmq-ledger/schema, or add ledgerMigrations to your migrations`;
  }
  const code = readString(err, 'code') ?? readString(readProperty(err, 'cause'), 'code');
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET') {
    return `the ledger database is unreachable (${message}); rows wait in memory and in the spool until it answers`;
  }
  return message;
}

function connectionPool(orm: MikroORM): ConnectionPool {
  const connection: unknown = orm.em.getConnection();
  const getKnex = readProperty(connection, 'getKnex');
  const knex: unknown = typeof getKnex === 'function' ? getKnex.call(connection) : undefined;
  const client = readProperty(knex, 'client');
  if (!isConnectionPool(client)) {
    throw new TypeError('bullmq-ledger: the ledger needs a MikroORM instance on PostgreSQL (@mikro-orm/postgresql).');
  }
  return client;
}

function isConnectionPool(value: unknown): value is ConnectionPool {
  return (
    typeof readProperty(value, 'acquireConnection') === 'function' &&
    typeof readProperty(value, 'releaseConnection') === 'function'
  );
}

function isPgConnection(value: unknown): value is PgConnection {
  return typeof readProperty(value, 'query') === 'function';
}
