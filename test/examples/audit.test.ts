import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows } from '../helpers/ledger-rows';
import { DATABASE_URL } from '../helpers/postgres';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

function recent(rows: LedgerRows, durationMs: number): LedgerRows {
  const completedAt = Date.now() - 60_000;
  return {
    record: { ...rows.record, durationMs, completedAt, startedAt: completedAt - durationMs },
    attempt: rows.attempt && { ...rows.attempt, startedAt: completedAt - durationMs, endedAt: completedAt },
  };
}

describe('examples/audit: the query API, as a child process', () => {
  let db: LedgerDb;
  before(async () => {
    db = await openLedgerDb('audit-example');
    await migrateLedger(db.orm);
    await new LedgerWriter(db.orm).write(
      prepareBatch([
        recent(attemptRows('emails', '1', 1, 'completed'), 120),
        recent(attemptRows('emails', '2', 2, 'failed'), 30),
        recent(attemptRows('emails', '3', 4, 'retry'), 10),
      ]),
    );
  });
  after(() => db.close());

  it('prints stats, failures with trace ids, stuck jobs, the least reliable worker and the slowest job', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/audit/queries.ts', 'emails'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL, LEDGER_SCHEMA: db.schema },
      timeout: 30_000,
    });
    expect(stdout).to.contain('emails: 3 jobs in 7 days, success 50.0%');
    expect(stdout).to.match(/failed: emails\/2 Error: attempt 2 failed \(trace a{32}\)/);
    expect(stdout).to.contain('stuck: emails/3 after 4 failures'); // its 4th attempt failed too
    expect(stdout).to.contain('least reliable worker: svc@host:42');
    expect(stdout).to.contain('slowest: emails/1, 120 ms, 1 attempt(s)');
  });
});
