import { expect } from 'chai';
import { parseTime } from '../../audit/cli/arguments';
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
    // stuck-1 failed 5 times, its newest attempt included: listed from --min-retries 5, not 6.
    const stuck = await cli(withSchema('stuck', '--min-retries', '5', '--json'), env);
    expect((JSON.parse(stuck.stdout) as Array<{ jobId: string }>).map((job) => job.jobId)).to.deep.equal(['stuck-1']);
    expect(JSON.parse((await cli(withSchema('stuck', '--min-retries', '6', '--json'), env)).stdout)).to.deep.equal([]);
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

  it('says when the ledger has no such job: exit 1, a finding rather than a wrong command line', async () => {
    const run = await cli(withSchema('job', 'cli-q', 'missing'), env);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr.trim().split('\n')).to.have.length(1);
    expect(run.stderr).to.match(
      /^bullmq-ledger: the ledger has no job missing in queue cli-q; check the queue name and the job id, or run bullmq-ledger reconcile --queue cli-q if the job ran without the instrumentation$/m,
    );
  });

  it('rejects a wrong --limit or time with exit 2 before connecting to the database', async () => {
    const unreachable = { DATABASE_URL: 'postgresql://root@127.0.0.1:1/test', TZ: 'Asia/Tokyo' };
    const cases: Array<[string[], RegExp]> = [
      [['slowest', '--limit', '20000'], /--limit must be a whole number from 1 to 10000, got "20000"/],
      [['failures', '--limit', '10001'], /--limit must be a whole number from 1 to 10000, got "10001"/],
      [['stuck', '--limit', '0'], /--limit must be a whole number from 1 to 10000, got "0"/],
      [['stats', '--since', '0'], /--since "0" is neither a duration ago \(30m, 24h, 7d\) nor an ISO-8601 time/],
      // No Z or offset: it would be read in the time zone of whoever runs the command.
      [
        ['stats', '--since', '2026-12-04T00:00'],
        /--since "2026-12-04T00:00" is neither .* nor an ISO-8601 time with Z or an offset \(2026-12-01T00:00:00Z, 2026-12-01T09:00\+09:00; a date alone, 2026-12-01, is midnight UTC\)$/m,
      ],
      [['stats', '--until', '2026-12-04 00:00:00Z'], /--until "2026-12-04 00:00:00Z" is neither/],
      [['failures', '--since', '2026-02-30'], /--since "2026-02-30" is neither/],
      [['reconcile', '--queue', 'q', '--since', '12/04/2026'], /--since "12\/04\/2026" is neither/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, unreachable);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(2);
      expect(run.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(run.stderr, args.join(' ')).to.match(message);
    }
    // The accepted forms reach the database.
    const accepted = await cli(
      withSchema('stats', '--since', '2026-12-04', '--until', '2026-12-05T09:00+09:00', '--json'),
      { ...env, TZ: 'Asia/Tokyo' },
    );
    expect(accepted.code, accepted.stderr).to.equal(0);
    expect((await cli(['--help'])).stdout).to.contain(
      'A time (--since, --until) is a duration ago (30m, 24h, 7d) or an ISO-8601 time with Z or an offset',
    );
  });

  it('reads a time as a duration ago, or an ISO-8601 time with Z or an offset (a date alone: midnight UTC)', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const read = (value: string): string => parseTime('since', value, now).toISOString();
    expect(read('90m')).to.equal('2026-12-04T10:30:00.000Z');
    expect(read('2026-12-04')).to.equal('2026-12-04T00:00:00.000Z');
    expect(read('2026-12-04T09:00Z')).to.equal('2026-12-04T09:00:00.000Z');
    expect(read('2026-12-04T09:00:30.25Z')).to.equal('2026-12-04T09:00:30.250Z');
    expect(read('2026-12-04T09:00+09:00')).to.equal('2026-12-04T00:00:00.000Z');
    expect(read('2026-12-04T09:00:00-0130')).to.equal('2026-12-04T10:30:00.000Z');
    for (const wrong of ['0', '1', '2026', '2026-12', '2026-12-04T09:00', '2026-12-04T09:00:00', '2026-12-04T09Z']) {
      expect(() => parseTime('since', wrong, now), wrong).to.throw(/is neither a duration ago/);
    }
    for (const wrong of ['2026-13-01', '2026-02-29', '2026-12-04T24:00Z', '2026-12-04T09:00+9', 'yesterday']) {
      expect(() => parseTime('since', wrong, now), wrong).to.throw(/is neither a duration ago/);
    }
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
    ];
    for (const [args, runEnv, code, message] of cases) {
      const run = await cli(args, runEnv);
      expect(run.code, args.join(' ')).to.equal(code);
      expect(run.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(run.stderr, args.join(' ')).to.match(message);
    }
  });
});
