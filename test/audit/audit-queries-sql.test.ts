import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows } from '../helpers/ledger-rows';

/** The statements of examples/audit-queries.sql, by their `-- name:` line. */
function auditQueries(): Map<string, string> {
  const text = readFileSync(path.join(__dirname, '../../examples/audit-queries.sql'), 'utf8');
  const queries = new Map<string, string>();
  for (const part of text.split(/^-- name: /m).slice(1)) {
    const [name = '', ...rest] = part.split('\n');
    queries.set(name.trim(), rest.join('\n').trim());
  }
  return queries;
}

function recent(rows: LedgerRows, durationMs: number, endedAgoMs: number): LedgerRows {
  const completedAt = Date.now() - endedAgoMs;
  return { ...rows, record: { ...rows.record, durationMs, completedAt, startedAt: completedAt - durationMs } };
}

describe('examples/audit-queries.sql', () => {
  let db: LedgerDb;
  const queries = auditQueries();

  async function run(name: string): Promise<Array<Record<string, unknown>>> {
    const sql = queries.get(name);
    if (sql === undefined) throw new Error(`no query named ${name}`);
    const connection = db.orm.em.getConnection();
    return connection.transactional(async (trx) => {
      await connection.execute(`set local search_path = "${db.schema}"`, [], 'run', trx);
      return connection.execute<Array<Record<string, unknown>>>(sql, [], 'all', trx);
    });
  }

  before(async () => {
    db = await openLedgerDb('sql-examples');
    await migrateLedger(db.orm);
    const rows: LedgerRows[] = [];
    for (let i = 1; i <= 12; i++) rows.push(recent(attemptRows('mail', `m${i}`, 1, 'completed'), i * 10, 60_000));
    rows.push(recent(attemptRows('mail', 'broken', 2, 'failed'), 5, 120_000));
    rows.push(recent(attemptRows('pay', 'retrying', 4, 'retry'), 5, 60_000));
    rows.push(recent(attemptRows('pay', 'done', 1, 'completed'), 5, 3 * 86_400_000));
    await new LedgerWriter(db.orm).write(prepareBatch(rows));
  });
  after(() => db.close());

  it('has the four queries of the product spec', () => {
    expect([...queries.keys()]).to.deep.equal([
      'top-10-slowest',
      'success-rate-by-queue',
      'failures-last-hour',
      'stuck-retrying',
    ]);
  });

  it('top-10-slowest lists the ten longest jobs of the last day, slowest first', async () => {
    const rows = await run('top-10-slowest');
    expect(rows.map((row) => row.job_id)).to.deep.equal([
      'm12',
      'm11',
      'm10',
      'm9',
      'm8',
      'm7',
      'm6',
      'm5',
      'm4',
      'm3',
    ]);
  });

  it('success-rate-by-queue gives completed, failed and the rate per queue over 7 days', async () => {
    const rows = await run('success-rate-by-queue');
    expect(
      rows.map((row) => [row.queue_name, Number(row.completed), Number(row.failed), Number(row.success_rate_percent)]),
    ).to.deep.equal([
      ['mail', 12, 1, 92.31],
      ['pay', 1, 0, 100],
    ]);
  });

  it('failures-last-hour lists failures with error and trace id, newest first', async () => {
    const rows = await run('failures-last-hour');
    expect(rows.map((row) => [row.job_id, row.error, row.final])).to.deep.equal([
      ['retrying', 'Error', false],
      ['broken', 'Error', true],
    ]);
    expect(rows[0]?.trace_id).to.match(/^a{32}$/);
  });

  it('stuck-retrying lists jobs still retrying after at least 3 failures', async () => {
    const rows = await run('stuck-retrying');
    expect(rows.map((row) => [row.job_id, row.retry_count])).to.deep.equal([['retrying', 3]]);
  });
});
