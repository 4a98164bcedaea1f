import { expect } from 'chai';
import { Client } from 'pg';
import { prepareBatch } from '../../exporter/ledger-batch';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows } from '../helpers/ledger-rows';
import { DATABASE_URL } from '../helpers/postgres';
import { waitFor } from '../helpers/wait';

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

describe('LedgerWriter: a deadlock with another client', () => {
  let db: LedgerDb;
  // `other` takes the record locks in the opposite order to the writer; `monitor` watches pg_locks and the stats.
  let other: Client;
  let monitor: Client;
  before(async () => {
    db = await openLedgerDb('deadlock');
    await migrateLedger(db.orm);
    other = new Client({ connectionString: DATABASE_URL });
    monitor = new Client({ connectionString: DATABASE_URL });
    await other.connect();
    await monitor.connect();
  });
  after(async () => {
    // Ending the connections ends any transaction a failed test left open, so that the schema can be dropped.
    await other.end();
    await monitor.end();
    await db.close();
  });

  /** The backends of this database waiting for a lock that `other` holds. */
  async function blockedByOther(otherPid: number): Promise<number[]> {
    const { rows } = await monitor.query<{ pid: number }>(
      `select pid from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock' and $1 = any(pg_blocking_pids(pid))`,
      [otherPid],
    );
    return rows.map((row) => row.pid);
  }

  async function deadlocks(): Promise<number> {
    const { rows } = await monitor.query<{ deadlocks: string }>(
      `select deadlocks from pg_stat_database where datname = current_database()`,
    );
    return Number(rows[0]?.deadlocks);
  }

  it('is chosen as the victim, retries, and writes its batch without surfacing the error', async () => {
    const writer = new LedgerWriter(db.orm);
    const records = `"${db.schema}".worker_job_records`;
    // Two jobs A ('a') and B ('b'); the writer locks their records in key order, A first.
    await writer.write(prepareBatch([attemptRows('q', 'a', 1, 'retry'), attemptRows('q', 'b', 1, 'retry')]));
    const deadlocksBefore = await deadlocks();

    const { rows: pidRows } = await other.query<{ pid: number }>('select pg_backend_pid() as pid');
    const otherPid = pidRows[0]?.pid ?? -1;
    await other.query('begin');
    // Longer than the writer's (the server default, 1 s): the writer's backend finds the cycle and is the victim.
    await other.query(`set local deadlock_timeout = '10s'`);
    await other.query(`update ${records} set updated_at = now() where id = $1`, ['q:b']);

    let outcome: Outcome | undefined;
    const writing = writer
      .write(prepareBatch([attemptRows('q', 'b', 2, 'completed'), attemptRows('q', 'a', 2, 'completed')]))
      .then(
        (): Outcome => ({ ok: true }),
        (error: unknown): Outcome => ({ ok: false, error }),
      );
    void writing.then((settled) => {
      outcome = settled;
    });
    const writerStillWaiting = async (): Promise<boolean> => {
      if (outcome !== undefined && !outcome.ok) throw outcome.error;
      return (await blockedByOther(otherPid)).length > 0;
    };

    // The writer holds A and waits for B.
    await waitFor(writerStillWaiting, { timeoutMs: 5000, what: 'the writer to wait for the lock on B' });
    // Close the cycle: `other` waits for A. This returns once the deadlock detector has aborted the writer's transaction.
    const closed = await other.query(`update ${records} set updated_at = now() where id = $1`, ['q:a']);
    expect(closed.rowCount).to.equal(1);
    // The writer retries: a new transaction, waiting now for A, which `other` holds.
    await waitFor(writerStillWaiting, { timeoutMs: 5000, what: 'the writer to retry and wait for the lock on A' });
    expect(outcome, 'the writer settled while its retry was waiting').to.equal(undefined);
    await other.query('commit');

    const settled = await writing;
    if (!settled.ok) throw settled.error;

    const { rows } = await monitor.query<{ id: string; status: string; attempt: number; outcome: string }>(
      `select id, status::text as status, attempt, outcome from ${records} order by id`,
    );
    expect(rows).to.deep.equal([
      { id: 'q:a', status: 'COMPLETED', attempt: 2, outcome: 'completed' },
      { id: 'q:b', status: 'COMPLETED', attempt: 2, outcome: 'completed' },
    ]);
    const { rows: attempts } = await monitor.query<{ n: string }>(
      `select count(*) as n from "${db.schema}".worker_job_attempts`,
    );
    expect(Number(attempts[0]?.n)).to.equal(4);
    // The server counted the deadlock (its statistics reach pg_stat_database once the backend flushes them).
    // PostgreSQL may publish an idle backend's statistics up to 10 s late (it is usually at once).
    await waitFor(async () => (await deadlocks()) > deadlocksBefore, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: 'pg_stat_database to count the deadlock',
    });
  });
});
