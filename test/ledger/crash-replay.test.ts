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

  it('restarts, replays the spool it left, and the ledger has every job', async () => {
    const port = await proxy.listen();
    proxy.cut();
    const q = fixture('crash');
    const env = {
      QUEUE_NAME: q.name,
      LEDGER_URL: `postgresql://root@127.0.0.1:${port}/test`,
      LEDGER_SCHEMA: db.schema,
      SPOOL_DIR: spoolDirectory,
    };
    const first = new ChildScript(WORKER, env);
    children.push(first);
    await q.queue.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'crash-job', data: { i } })));
    await first.waitForLine((line) => line === 'completed 100', 'the first worker to complete 100 jobs');
    await waitFor(() => spooledLines(spoolDirectory) >= 100, { what: 'the 100 attempts to be spooled' });
    await first.kill('SIGKILL');
    expect(await db.orm.em.fork().count(WorkerJobRecord, { queueName: q.name })).to.equal(0);

    proxy.restore();
    const second = new ChildScript(WORKER, env);
    children.push(second);
    await waitFor(
      async () => (await db.orm.em.fork().count(WorkerJobRecord, { queueName: q.name, status: 'COMPLETED' })) === 100,
      {
        timeoutMs: 20_000,
        what: 'the second worker to replay the 100 rows',
      },
    );
    await waitFor(() => readdirSync(spoolDirectory).every((name) => !name.includes('.replay-')), {
      what: 'the replayed file to be removed',
    });
    await second.kill('SIGTERM');
    expect(second.exitCode).to.equal(0);
  });
});
