import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { migrateLedger } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows } from '../helpers/ledger-rows';
import { DATABASE_URL } from '../helpers/postgres';
import { waitFor } from '../helpers/wait';

const CLI = path.resolve(__dirname, '../../dist/audit/cli.js');

/** `bullmq-ledger dashboard` as a user starts it; resolves with the URL it prints. */
async function serve(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'dashboard', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitFor(() => /dashboard: http:\/\/\S+/.test(output) || child.exitCode !== null, {
    timeoutMs: 20_000,
    what: `the dashboard URL (output: ${output})`,
  });
  const url = /dashboard: (http:\/\/\S+)/.exec(output)?.[1];
  if (url === undefined) throw new Error(`the dashboard did not start: ${output}`);
  return { child, url, output: () => output };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', resolve));
}

describe('bullmq-ledger dashboard (the CLI command)', () => {
  let db: LedgerDb;
  const env = { DATABASE_URL };

  before(async () => {
    db = await openLedgerDb('cli_dashboard');
    await migrateLedger(db.orm);
    await new LedgerWriter(db.orm).write(
      prepareBatch([attemptRows('cli-dash', 'job-1', 1, 'failed', { enqueuedAt: Date.now() - 60_000 })]),
    );
  });
  after(() => db.close());

  it('serves the dashboard on 127.0.0.1, with trace links, until SIGTERM', async () => {
    const { child, url } = await serve(
      ['--port', '0', '--schema', db.schema, '--trace-url', 'http://jaeger.local:16686/trace/{traceId}'],
      env,
    );
    try {
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(`${url}jobs`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include('job-1');
      const history = (await (await fetch(`${url}api/jobs/cli-dash/job-1`)).json()) as {
        attempts: Array<{ traceUrl: string }>;
      };
      expect(history.attempts[0]?.traceUrl).to.equal(`http://jaeger.local:16686/trace/${'a'.repeat(32)}`);
      expect((await fetch(url, { method: 'POST' })).status).to.equal(405);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).to.equal(0);
  });

  it('asks for the basic-auth credentials given in the environment', async () => {
    const { child, url, output } = await serve(['--port', '0', '--schema', db.schema], {
      ...env,
      BULLMQ_LEDGER_DASHBOARD_USER: 'auditor',
      BULLMQ_LEDGER_DASHBOARD_PASSWORD: 's3cret:with colon',
    });
    try {
      expect(output()).to.include('(basic auth)');
      const anonymous = await fetch(url);
      expect(anonymous.status).to.equal(401);
      expect(anonymous.headers.get('www-authenticate')).to.match(/^Basic /);
      const wrong = await fetch(url, {
        headers: { Authorization: `Basic ${Buffer.from('auditor:nope').toString('base64')}` },
      });
      expect(wrong.status).to.equal(401);
      const right = await fetch(url, {
        headers: { Authorization: `Basic ${Buffer.from('auditor:s3cret:with colon').toString('base64')}` },
      });
      expect(right.status).to.equal(200);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited(child)).to.equal(0);
  });

  it('fails in one line, with exit code 2, on a bad port, trace URL or half-set credentials', async () => {
    const run = promisify(execFile);
    for (const [args, extraEnv, message] of [
      [['--port', 'eighty'], {}, '--port must be a whole number'],
      [['--port', '70000'], {}, '--port must be at most 65535'],
      [
        ['--trace-url', 'https://x/no-placeholder', '--schema', db.schema],
        {},
        'must be an http(s) URL template containing {traceId}',
      ],
      [
        [],
        { BULLMQ_LEDGER_DASHBOARD_USER: 'auditor' },
        'set both BULLMQ_LEDGER_DASHBOARD_USER and BULLMQ_LEDGER_DASHBOARD_PASSWORD',
      ],
    ] as const) {
      const failure = await run(process.execPath, [CLI, 'dashboard', ...args], {
        env: { ...process.env, ...env, ...extraEnv },
        timeout: 20_000,
      }).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(failure?.code, args.join(' ')).to.equal(2);
      expect(failure?.stderr?.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(failure?.stderr, args.join(' ')).to.include(message);
    }
  });

  it('says when the port is taken', async () => {
    const first = await serve(['--port', '0', '--schema', db.schema], env);
    try {
      const port = new URL(first.url).port;
      const failure = await promisify(execFile)(
        process.execPath,
        [CLI, 'dashboard', '--port', port, '--schema', db.schema],
        {
          env: { ...process.env, ...env },
          timeout: 20_000,
        },
      ).then(
        () => undefined,
        (err: { code?: number; stderr?: string }) => err,
      );
      expect(failure?.code).to.equal(1);
      expect(failure?.stderr).to.include(`port ${port} on 127.0.0.1 is in use; pick another with --port`);
    } finally {
      first.child.kill('SIGTERM');
    }
    await exited(first.child);
  });
});
