import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { DATABASE_URL } from '../helpers/postgres';
import { waitFor } from '../helpers/wait';

const root = path.resolve(__dirname, '../..');

/** The demo as a user starts it, without REDIS_URL or DATABASE_URL unless given. */
class Demo {
  readonly process: ChildProcess;
  output = '';
  exitCode: number | null | undefined;
  constructor(args: string[], env: Record<string, string> = {}, cwd = root) {
    const base: NodeJS.ProcessEnv = { ...process.env };
    delete base.REDIS_URL;
    delete base.DATABASE_URL;
    this.process = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', ...args], {
      cwd,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.process.stdout, this.process.stderr])
      stream?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.process.on('exit', (code, signal) => (this.exitCode = code ?? (signal === null ? null : 128)));
  }
  async waitFor(text: string | RegExp, timeoutMs = 60_000): Promise<void> {
    const found = (): boolean => (typeof text === 'string' ? this.output.includes(text) : text.test(this.output));
    await waitFor(() => found() || this.exitCode !== undefined, { timeoutMs, what: `demo output ${String(text)}` });
    if (!found())
      throw new Error(`the demo exited (${String(this.exitCode)}) without printing ${String(text)}:\n${this.output}`);
  }
  async exit(timeoutMs = 60_000): Promise<number | null> {
    await waitFor(() => this.exitCode !== undefined, { timeoutMs, what: `the demo to exit:\n${this.output}` });
    return this.exitCode ?? null;
  }
  /** The stats table's data row: queue, total, completed, failed, retrying, pending. */
  stats(): { queue: string; total: number; completed: number; failed: number } {
    const row = this.output.split('\n').find((line) => /^demo-\S+\s+\d+\s+\d+\s+\d+/.test(line));
    const [queue = '', total, completed, failed] = row?.trim().split(/\s+/) ?? [];
    return { queue, total: Number(total), completed: Number(completed), failed: Number(failed) };
  }
}

function demoFolders(tmp = os.tmpdir()): string[] {
  return readdirSync(tmp).filter((name) => name.startsWith('bullmq-ledger-demo-'));
}

function postgresProcesses(): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const cmdline = execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).replaceAll('\0', ' ');
        return cmdline.includes('bullmq-ledger-demo-') ? [cmdline] : [];
      } catch {
        return [];
      }
    });
}

async function ledgerCounts(
  url: string,
  schema: string,
  queue: string,
): Promise<{ total: number; completed: number; failed: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ total: number; completed: number; failed: number }>(
      `select count(*)::int as total, count(*) filter (where status = 'COMPLETED')::int as completed,
        count(*) filter (where status = 'FAILED' and final)::int as failed
       from "${schema}".worker_job_records where queue_name = $1`,
      [queue],
    );
    return rows[0] ?? { total: 0, completed: 0, failed: 0 };
  } finally {
    await client.end();
  }
}

describe('the demo (npm run demo), as a user runs it', function () {
  this.timeout(180_000);
  let before: string[];
  beforeEach(() => {
    before = demoFolders();
  });
  afterEach(() => {
    expect(
      demoFolders().filter((name) => !before.includes(name)),
      'demo folders left behind',
    ).to.deep.equal([]);
    expect(postgresProcesses(), 'embedded servers left running').to.deep.equal([]);
  });

  it('needs nothing installed: an embedded PostgreSQL, printed stats that agree with the ledger, nothing left after Ctrl-C', async () => {
    const demo = new Demo(['--keep'], { DASHBOARD_PORT: '0' });
    await demo.waitFor('Stop it with Ctrl-C');
    expect(demo.output.split('\n')[0]).to.match(
      /^bullmq-ledger demo: queue \(BullMQ's PostgreSQL backend, schema bullmq\) and ledger \(schema bullmq_ledger\) on an embedded PostgreSQL 17 at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres, removed at exit$/,
    );
    const url = /export DATABASE_URL=(\S+)/.exec(demo.output)?.[1] ?? '';
    const printed = demo.stats();
    expect(printed).to.include({ total: 58, completed: 51, failed: 7 });
    expect(await ledgerCounts(url, 'bullmq_ledger', printed.queue)).to.deep.equal({
      total: 58,
      completed: 51,
      failed: 7,
    });
    expect(demo.output).to.match(/History of job \d+ \(charge-card\), every attempt:/);
    // --keep serves the dashboard on the ledger, and says where.
    const dashboard = /The dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(demo.output)?.[1];
    expect(dashboard, demo.output).to.be.a('string');
    const overview = (await (await fetch(`${dashboard ?? ''}api/queues?since=1h`)).json()) as {
      queues: Array<{ queueName: string; completedJobs: number; failedJobs: number }>;
    };
    expect(overview.queues).to.deep.equal([
      { ...overview.queues[0], queueName: printed.queue, completedJobs: 51, failedJobs: 7 },
    ]);
    demo.process.kill('SIGINT');
    expect(await demo.exit()).to.equal(130);
  });

  it('exits 0 and removes the embedded server when it ends on its own', async () => {
    const demo = new Demo([]);
    expect(await demo.exit(), demo.output).to.equal(0);
    expect(demo.stats()).to.include({ total: 58 });
  });

  it('stops cleanly when interrupted mid-run', async () => {
    const demo = new Demo([]);
    await demo.waitFor('enqueued 58 jobs');
    demo.process.kill('SIGINT');
    expect(await demo.exit()).to.equal(130);
    expect(demo.output).to.contain('SIGINT: stopping the demo');
  });

  it('runs from a clone inside a folder only its owner can enter (0700)', async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), 'bl-locked-'));
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bl-tmp-'));
    chmodSync(tmp, 0o1777); // a fresh temp folder, so the binaries are copied again
    try {
      expect(statSync(locked).mode & 0o777).to.equal(0o700);
      const clone = path.join(locked, 'clone');
      mkdirSync(clone);
      for (const entry of [
        'package.json',
        'tsconfig.json',
        'src',
        'exporter',
        'schema',
        'audit',
        'dashboard',
        'examples',
      ]) {
        execFileSync('cp', ['-a', path.join(root, entry), clone]);
      }
      execFileSync('cp', ['-al', path.join(root, 'node_modules'), clone]); // hard links: the same files, inside the locked folder
      const demo = new Demo([], { TMPDIR: tmp }, clone);
      expect(await demo.exit(), demo.output).to.equal(0);
      expect(demo.stats()).to.include({ total: 58 });
      expect(demoFolders(tmp)).to.deep.equal([]);
    } finally {
      rmSync(locked, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('uses the local Redis and PostgreSQL when REDIS_URL and DATABASE_URL are set', async () => {
    const demo = new Demo([], { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL });
    expect(await demo.exit(), demo.output).to.equal(0);
    expect(demo.output.split('\n')[0]).to.equal(
      `bullmq-ledger demo: queue on Redis at redis://127.0.0.1:6379; ledger (schema bullmq_ledger) on PostgreSQL at ${DATABASE_URL}`,
    );
    const printed = demo.stats();
    expect(await ledgerCounts(DATABASE_URL, 'bullmq_ledger', printed.queue)).to.deep.equal({
      total: 58,
      completed: 51,
      failed: 7,
    });
  });

  it('stops cleanly on SIGTERM too', async () => {
    const demo = new Demo([]);
    await demo.waitFor('enqueued 58 jobs');
    demo.process.kill('SIGTERM');
    expect(await demo.exit()).to.equal(143);
  });

  it('removes what a killed run left (server and folder) at the next start', async () => {
    const killed = new Demo([]);
    await killed.waitFor('enqueued 58 jobs');
    killed.process.kill('SIGKILL');
    await killed.exit();
    expect(postgresProcesses()).to.have.length.greaterThan(0); // the orphaned server still runs
    const next = new Demo([]);
    expect(await next.exit(), next.output).to.equal(0);
  });

  it('says in one line when the embedded PostgreSQL cannot start, with the fallback, and exits non-zero', async () => {
    // A file, not a folder, as the temp folder: no data directory can be made (tsx's cache is off: it uses it too).
    const demo = new Demo([], { TMPDIR: '/etc/hostname', TSX_DISABLE_CACHE: '1' });
    expect(await demo.exit()).to.equal(1);
    expect(demo.output.trim()).to.match(
      /^demo failed: could not start an embedded PostgreSQL \(.*\); set DATABASE_URL \(and REDIS_URL\) to use servers you run instead$/,
    );
  });

  it('says in one line which server it cannot reach, and exits non-zero', async () => {
    const demo = new Demo([], { REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL });
    expect(await demo.exit()).to.equal(1);
    expect(demo.output.trim()).to.match(
      /^demo failed: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*unset REDIS_URL/,
    );
  });
});
