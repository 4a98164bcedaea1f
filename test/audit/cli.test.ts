import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { ledgerMigrations } from '../../schema';
import { runCli } from '../helpers/cli';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows } from '../helpers/ledger-rows';
import { DATABASE_URL } from '../helpers/postgres';
import { queueFixtures } from '../helpers/queues';

const cli = runCli;

describe('the bullmq-ledger CLI, run as a child process', () => {
  let db: LedgerDb;
  let env: Record<string, string>;
  const fixture = queueFixtures();

  before(async () => {
    db = await openLedgerDb('cli');
    env = { DATABASE_URL, BULLMQ_LEDGER_TEST: '1' };
  });
  after(() => db.close());

  const withSchema = (...args: string[]): string[] => [...args, '--schema', db.schema];

  it('migrates, then says the ledger is up to date', async () => {
    const first = await cli(withSchema('migrate'), env);
    expect(first.code, first.stderr).to.equal(0);
    const names = ledgerMigrations.map((migration) => migration.name);
    expect(first.stdout).to.contain(`applied ${names.length} migration(s): ${names.join(', ')}`);
    const again = await cli(withSchema('migrate', '--json'), env);
    expect(JSON.parse(again.stdout)).to.deep.equal({ applied: [] });
    const rows = [
      attemptRows('cli-q', 'ok-1', 1, 'completed'),
      attemptRows('cli-q', 'bad-1', 3, 'failed'),
      attemptRows('cli-q', 'stuck-1', 5, 'retry'),
    ].map((row) => ({
      ...row,
      record: { ...row.record, completedAt: Date.now() - 60_000, startedAt: Date.now() - 61_000 },
      attempt:
        row.attempt === undefined
          ? undefined
          : { ...row.attempt, startedAt: Date.now() - 61_000, endedAt: Date.now() - 60_000 },
    }));
    await new LedgerWriter(db.orm).write(prepareBatch(rows));
  });

  it('prints stats as an aligned table, and as JSON with --json', async () => {
    const table = await cli(withSchema('stats'), env);
    expect(table.code, table.stderr).to.equal(0);
    const [header, rule, row] = table.stdout.trim().split('\n');
    expect(header).to.match(/^queue\s+total\s+completed\s+failed\s+retrying\s+pending\s+success/);
    expect(rule).to.match(/^-+ +-+/);
    expect(row).to.match(/^cli-q\s+3\s+1\s+1\s+1\s+0\s+50\.0%/);
    expect(header?.indexOf('total')).to.equal((rule?.indexOf(' ') ?? 0) + 2);
    const json: unknown = JSON.parse((await cli(withSchema('stats', '--queue', 'cli-q', '--json'), env)).stdout);
    expect(json).to.be.an('array').with.length(1);
    expect((json as Array<Record<string, unknown>>)[0]).to.include({
      queueName: 'cli-q',
      totalJobs: 3,
      successRate: 0.5,
    });
  });

  it('lists failures (final by default), stuck jobs, workers, the slowest jobs and one job', async () => {
    const failures = await cli(withSchema('failures', '--json'), env);
    expect((JSON.parse(failures.stdout) as Array<{ jobId: string }>).map((job) => job.jobId)).to.deep.equal(['bad-1']);
    const withRetrying = await cli(withSchema('failures', '--retrying'), env);
    expect(withRetrying.stdout)
      .to.contain('stuck-1')
      .and.to.contain('RETRYING')
      .and.to.contain('Error: attempt 3 failed');
    const stuck = await cli(withSchema('stuck', '--min-retries', '4', '--json'), env);
    expect((JSON.parse(stuck.stdout) as Array<{ jobId: string }>).map((job) => job.jobId)).to.deep.equal(['stuck-1']);
    const workers = await cli(withSchema('workers'), env);
    expect(workers.stdout).to.match(/svc\s+host\s+42\s+3\s+2/);
    const slowest = await cli(withSchema('slowest', '--limit', '1'), env);
    expect(slowest.stdout.trim().split('\n')).to.have.length(3);
    const job = await cli(withSchema('job', 'cli-q', 'bad-1'), env);
    expect(job.code, job.stderr).to.equal(0);
    expect(job.stdout)
      .to.contain('attempts:')
      .and.to.match(/3\s+failed/);
  });

  it('reconciles a queue from Redis, with a progress bar on request', async () => {
    const q = fixture('cli-reconcile');
    await q.queue.addBulk([
      { name: 'a', data: {} },
      { name: 'b', data: {} },
    ]);
    const run = await cli(withSchema('reconcile', '--queue', q.name, '--progress'), {
      ...env,
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal(`${q.name}: 2 jobs read from BullMQ; 2 inserted, 0 updated, 0 unchanged`);
    expect(run.stderr).to.contain('[##############################] 2/2');
  });

  it('answers --help for every command', async () => {
    for (const command of [
      'migrate',
      'stats',
      'failures',
      'slowest',
      'stuck',
      'workers',
      'health',
      'job',
      'reconcile',
    ]) {
      const help = await cli([command, '--help']);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.match(new RegExp(`^usage: bullmq-ledger ${command}`));
    }
    expect((await cli(['--help'])).stdout).to.contain('commands:');
  });

  it('fails in one line with what to do, and a non-zero exit code', async () => {
    const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
      [['nonsense'], env, 2, /unknown command "nonsense"; run bullmq-ledger --help/],
      [withSchema('stats', '--since', 'yesterday'), env, 2, /--since "yesterday" is neither a duration/],
      [withSchema('stuck', '--min-retries=-1'), env, 2, /--min-retries must be a whole number of at least 0/],
      [withSchema('job', 'only-queue'), env, 2, /usage: bullmq-ledger job <queue> <id>/],
      [withSchema('stats', '--frobnicate'), env, 2, /Unknown option '--frobnicate'/],
      [
        ['stats', '--schema', 'no_such_schema'],
        env,
        1,
        /ledger tables do not exist in schema "no_such_schema".*bullmq-ledger migrate/,
      ],
      [
        ['stats'],
        { DATABASE_URL: 'postgresql://root@127.0.0.1:1/test' },
        1,
        /cannot reach the ledger database at postgresql:\/\/root@127\.0\.0\.1:1\/test .*is PostgreSQL running\?/,
      ],
      [
        withSchema('reconcile', '--queue', 'q'),
        { ...env, REDIS_URL: 'redis://127.0.0.1:1' },
        1,
        /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*Start it, or pass --redis-url/,
      ],
      [withSchema('job', 'cli-q', 'missing'), env, 2, /the ledger has no job missing in queue cli-q/],
    ];
    for (const [args, runEnv, code, message] of cases) {
      const run = await cli(args, runEnv);
      expect(run.code, args.join(' ')).to.equal(code);
      expect(run.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(run.stderr, args.join(' ')).to.match(message);
    }
  });
});
