import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { Migration20261206000000Rollups, migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { ledgerHistory, shuffled } from '../helpers/ledger-history';
import { expectRollupsMatchLedger } from '../helpers/rollups';

async function writeInBatches(writer: LedgerWriter, rows: readonly LedgerRows[], size: number): Promise<void> {
  for (let start = 0; start < rows.length; start += size) {
    await writer.write(prepareBatch(rows.slice(start, start + size)));
  }
}

async function runMigration(db: LedgerDb, direction: 'up' | 'down'): Promise<void> {
  const migration = new Migration20261206000000Rollups(db.orm.em.getDriver(), db.orm.config);
  await Promise.resolve(direction === 'up' ? migration.up() : migration.down());
  const connection = db.orm.em.getConnection();
  await connection.transactional(async (trx) => {
    for (const query of migration.getQueries()) {
      if (typeof query === 'string') await connection.execute(query, [], 'run', trx);
    }
  });
}

describe('hourly rollups, kept by triggers', () => {
  let db: LedgerDb;
  beforeEach(async () => {
    db = await openLedgerDb('rollups');
    await migrateLedger(db.orm);
  });
  afterEach(() => db.close());

  it('hold what a recount gives, after batches in any order, retries of the same batch and reconciliation', async () => {
    const writer = new LedgerWriter(db.orm);
    const history = ledgerHistory(400, 7, 60);
    await writeInBatches(writer, shuffled(history, 11), 37);
    await expectRollupsMatchLedger(db);
    // A batch written again (a retried flush, a replayed spool) changes nothing.
    await writeInBatches(writer, shuffled(history, 12).slice(0, 120), 120);
    await expectRollupsMatchLedger(db);
    // Reconciliation: BullMQ's view of some jobs, newer for a few of them.
    const fromBullMQ = history
      .filter((_, i) => i % 5 === 0)
      .map((rows) => ({
        record: { ...rows.record, status: 'COMPLETED' as const, final: true, attempt: rows.record.attempt + 1 },
      }));
    const changes = await writer.upsertRecords(prepareBatch(fromBullMQ));
    expect(changes.updated).to.be.greaterThan(0);
    await expectRollupsMatchLedger(db);
    const [row] = await db.orm.em
      .getConnection()
      .execute<Array<{ n: number }>>(`select count(*)::int as n from "${db.schema}".ledger_queue_hours`);
    expect(row?.n).to.be.greaterThan(10);
  });

  it('follow deletes (a retention job) and updates written by hand', async () => {
    await writeInBatches(new LedgerWriter(db.orm), ledgerHistory(300, 21, 60), 64);
    const connection = db.orm.em.getConnection();
    const s = `"${db.schema}"`;
    await connection.execute(`delete from ${s}.worker_job_records where job_id like '%3'`);
    await connection.execute(`delete from ${s}.worker_job_attempts where job_id like '%7' or attempt = 2`);
    await connection.execute(
      `update ${s}.worker_job_records set status = 'FAILED', final = true, completed_at = completed_at + interval '2 hours' where job_id like '%5'`,
    );
    await connection.execute(
      `update ${s}.worker_job_attempts set outcome = 'stalled', started_at = started_at - interval '1 hour' where job_id like '%1'`,
    );
    await expectRollupsMatchLedger(db);
  });

  it('count the rows a ledger already had when the migration runs', async () => {
    const writer = new LedgerWriter(db.orm);
    await writeInBatches(writer, ledgerHistory(200, 31), 50);
    await runMigration(db, 'down');
    // Written while there were no rollups (as on a ledger from before this migration).
    await writeInBatches(writer, ledgerHistory(200, 32), 50);
    await runMigration(db, 'up');
    await expectRollupsMatchLedger(db);
    const [row] = await db.orm.em
      .getConnection()
      .execute<Array<{ n: number }>>(`select sum(total_jobs)::int as n from "${db.schema}".ledger_queue_hours`);
    const [records] = await db.orm.em
      .getConnection()
      .execute<Array<{ n: number }>>(`select count(*)::int as n from "${db.schema}".worker_job_records`);
    expect(row?.n).to.equal(records?.n);
  });

  it('are emptied by a truncate', async () => {
    await writeInBatches(new LedgerWriter(db.orm), ledgerHistory(50, 41), 50);
    const connection = db.orm.em.getConnection();
    await connection.execute(`truncate "${db.schema}".worker_job_records, "${db.schema}".worker_job_attempts`);
    const [row] = await connection.execute<Array<{ n: number }>>(
      `select (select count(*) from "${db.schema}".ledger_queue_hours) + (select count(*) from "${db.schema}".ledger_worker_hours)
        + (select count(*) from "${db.schema}".ledger_queue_days) + (select count(*) from "${db.schema}".ledger_worker_days) as n`,
    );
    expect(Number(row?.n)).to.equal(0);
  });
});
