import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { migrateLedger, WorkerJobRecord } from '../../schema';
import { ChildScript } from '../helpers/child';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { queueFixtures } from '../helpers/queues';
import { TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

const WORKER = path.join(__dirname, '../fixtures/ledger-worker.ts');

function spooledLines(directory: string): number {
  return readdirSync(directory)
    .map(
      (name) =>
        readFileSync(path.join(directory, name), 'utf8')
          .split('\n')
          .filter((line) => line !== '').length,
    )
    .reduce((sum, lines) => sum + lines, 0);
}

describe('a worker process killed while the ledger database is down', () => {
  const fixture = queueFixtures();
  let db: LedgerDb;
  let proxy: TcpProxy;
  let spoolDirectory: string;
  const children: ChildScript[] = [];

  before(async () => {
    db = await openLedgerDb('crash');
    await migrateLedger(db.orm);
    proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    spoolDirectory = mkdtempSync(path.join(os.tmpdir(), 'bl-spool-'));
  });

  after(async () => {
    for (const child of children) await child.kill('SIGKILL');
    await proxy.close();
    await db.close();
    rmSync(spoolDirectory, { recursive: true, force: true });
  });

  it('killed with attempts running, restarts, replays the spool it left, and the ledger has every job', async () => {
    const port = await proxy.listen();
    proxy.cut();
    const q = fixture('crash');
    const env = {
      QUEUE_NAME: q.name,
      LEDGER_URL: `postgresql://root@127.0.0.1:${port}/test`,
      LEDGER_SCHEMA: db.schema,
      SPOOL_DIR: spoolDirectory,
      LOCK_MS: '1000',
    };
    // The first process never finishes jobs 40 and up: it is killed with 10 of them running.
    const first = new ChildScript(WORKER, { ...env, HANG_FROM: '40' });
    children.push(first);
    await q.queue.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'crash-job', data: { i } })));
    await first.waitForLine((line) => line === 'completed 40', 'the first worker to complete 40 jobs');
    await waitFor(async () => (await q.queue.getActiveCount()) === 10, { what: '10 attempts running' });
    await waitFor(() => spooledLines(spoolDirectory) >= 40, { what: 'the 40 attempts to be spooled' });
    await first.kill('SIGKILL');
    expect(await db.orm.em.fork().count(WorkerJobRecord, { queueName: q.name })).to.equal(0);

    // The next process replays the spool, takes over the 10 stalled jobs and runs the other 50.
    proxy.restore();
    const second = new ChildScript(WORKER, env);
    children.push(second);
    await waitFor(
      async () => (await db.orm.em.fork().count(WorkerJobRecord, { queueName: q.name, status: 'COMPLETED' })) === 100,
      {
        timeoutMs: 20_000,
        what: 'the second worker to replay the 40 rows and complete the 60 other jobs',
      },
    );
    // The killed attempts left no span: the jobs' records show their second activation.
    const restarted = await db.orm.em.fork().find(WorkerJobRecord, { queueName: q.name, attemptsStarted: 2 });
    expect(restarted).to.have.length(10);
    for (const record of restarted) expect(record).to.deep.include({ attempt: 1, final: true });
    await waitFor(() => readdirSync(spoolDirectory).every((name) => !name.includes('.replay-')), {
      what: 'the replayed file to be removed',
    });
    await second.kill('SIGTERM');
    expect(second.exitCode).to.equal(0);
  });
});
