import path from 'node:path';
import { expect } from 'chai';
import { migrateLedger, WorkerJobAttempt, WorkerJobRecord } from '../../schema';
import { ChildScript } from '../helpers/child';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { DATABASE_URL } from '../helpers/postgres';
import { expectRollupsMatchLedger } from '../helpers/rollups';
import { waitFor } from '../helpers/wait';

const WRITER = path.join(__dirname, '../fixtures/ledger-writer-child.ts');
const PROCESSES = 4;
const JOBS = 150;

describe('several processes writing the ledger at once', () => {
  let db: LedgerDb;
  before(async () => {
    db = await openLedgerDb('writers');
    await migrateLedger(db.orm);
  });
  after(() => db.close());

  it('ends with every job on its newest attempt, each attempt stored once, the rollups exact, and no writer failing', async () => {
    const writers = Array.from(
      { length: PROCESSES },
      (_, i) =>
        new ChildScript(WRITER, {
          LEDGER_URL: DATABASE_URL,
          LEDGER_SCHEMA: db.schema,
          SEED: String(i + 1),
          JOBS: String(JOBS),
        }),
    );
    await waitFor(() => writers.every((writer) => writer.exitCode !== undefined), {
      timeoutMs: 60_000,
      what: 'the writers to finish',
    });
    expect(
      writers.map((writer) => writer.exitCode),
      writers.flatMap((writer) => writer.lines).join('\n'),
    ).to.deep.equal(writers.map(() => 0));
    const em = db.orm.em.fork();
    const records = await em.find(WorkerJobRecord, {});
    expect(records).to.have.length(JOBS);
    expect(
      records.every(
        (record) => record.status === 'COMPLETED' && record.attempt === 3 && record.final && record.retryCount === 2,
      ),
    ).to.equal(true);
    expect(await em.count(WorkerJobAttempt, {})).to.equal(JOBS * 3);
    // The rollups' triggers ran in every writer's transactions, and counted each change once.
    await expectRollupsMatchLedger(db);
  });
});
