import { expect } from 'chai';
import { parseCommand } from '../../audit/cli/arguments';
import { planCommand } from '../../audit/cli/commands';
import { evaluateHealth, evaluateQueueHealth, judgementMoment } from '../../audit/evaluate-health';
import { DEFAULT_SLO } from '../../audit/health-thresholds';
import { LedgerQueries } from '../../audit/ledger-queries';
import { rangeParams } from '../../dashboard/view-params';
import { migrateLedger } from '../../schema';
import {
  attemptEnding,
  fastBurnQueue,
  healthyQueue,
  HOUR,
  MINUTE,
  quietQueue,
  spread,
  writeRows,
} from '../helpers/health-ledger';
import { runCli } from '../helpers/cli';
import type { CliRun } from '../helpers/cli';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { DATABASE_URL, uniqueSchema } from '../helpers/postgres';

/** Runs the CLI as a monitoring agent does, with the test database by default. */
function cli(args: string[], env: Record<string, string> = { DATABASE_URL }): Promise<CliRun> {
  return runCli(args, env);
}

describe('bullmq-ledger health, run as a monitoring check', () => {
  const dbs: Record<'healthy' | 'degraded' | 'critical', LedgerDb | undefined> = {
    healthy: undefined,
    degraded: undefined,
    critical: undefined,
  };
  const schema = (name: keyof typeof dbs): string => dbs[name]?.schema ?? 'missing';

  before(async () => {
    const now = Date.now();
    const ledgers = {
      healthy: [...healthyQueue('orders', now), ...quietQueue('rare', now, 2)],
      degraded: [...healthyQueue('orders', now), ...quietQueue('rare', now, 3)],
      critical: [...healthyQueue('orders', now), ...fastBurnQueue('emails', now), ...quietQueue('rare', now, 3)],
    };
    for (const name of ['healthy', 'degraded', 'critical'] as const) {
      const db = await openLedgerDb(`health_cli_${name}`);
      dbs[name] = db;
      await migrateLedger(db.orm);
      await writeRows(db.orm, ledgers[name]);
    }
  });
  after(async () => {
    for (const db of Object.values(dbs)) await db?.close();
  });

  it('exits 0 when every queue is healthy or unknown, and prints aligned tables', async () => {
    const run = await cli(['health', '--schema', schema('healthy')]);
    expect(run.code, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).to.match(
      /^healthy at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ against an objective of 99\.0%; jobs, failures and workers since /,
    );
    const queues = lines.slice(lines.indexOf('queues:') + 1, lines.indexOf('workers:') - 1);
    expect(queues[0]).to.match(
      /^queue\s+state\s+jobs\s+failed\s+failure ratio\s+burn rate\s+budget left\s+burn 5m\s+burn 15m\s+burn 30m\s+burn 1h\s+burn 6h\s+burn 3d\s+why$/,
    );
    expect(queues[1]).to.match(/^-+( +-+)+$/);
    expect(queues[2]).to.match(/^orders\s+healthy\s+\d+\s+0\s+0\.0%\s+0x\s+100\.0%/);
    expect(queues[3]).to.match(/^rare\s+unknown\s+.*too little traffic to judge: 12 final jobs in 3d \(needs 20\)$/);
    // Every column starts where its header does.
    const starts = (line: string): number[] => [...line.matchAll(/(?<=^| {2})\S/g)].map((m) => m.index);
    expect(starts(queues[2] ?? '').slice(0, 2)).to.deep.equal(starts(queues[0] ?? '').slice(0, 2));
    const workers = lines.slice(lines.indexOf('workers:') + 1);
    expect(workers[0]).to.match(
      /^service\s+host\s+pid\s+reliability\s+attempts\s+failures\s+stalled\s+failure rate\s+last seen\s+errors$/,
    );
    expect(workers[2]).to.match(/^svc\s+host\s+42\s+\d+\.\d%\s+\d+\s+2\s+0\s+/);
    expect(workers[2]).to.match(/Error 2$/);
  });

  it('exits 1 when a queue is degraded, and 2 when one is critical', async () => {
    const degraded = await cli(['health', '--schema', schema('degraded')]);
    expect(degraded.code, degraded.stderr).to.equal(1);
    expect(degraded.stdout).to.match(
      /\nrare\s+degraded\s+.*low traffic \(\d+ final jobs in 1h, under 20\): 3 final failures in 15m/,
    );
    const critical = await cli(['health', '--schema', schema('critical')]);
    expect(critical.code, critical.stderr).to.equal(2);
    expect(critical.stdout).to.match(/^critical at /);
    expect(critical.stdout).to.match(/\nemails\s+critical\s+130\s+30\s+23\.1%\s+23\.1x\s+-2207\.7%/);
  });

  it('prints the report as JSON with --json, with the same exit code', async () => {
    const run = await cli(['health', '--schema', schema('critical'), '--json', '--since', '3h', '--slo', '0.95']);
    expect(run.code, run.stderr).to.equal(1); // 23% against a 5% budget: 4.6x, a ticket but no page
    const report = JSON.parse(run.stdout) as {
      state: string;
      slo: number;
      since: string;
      until: string;
      queues: Array<{ queueName: string; state: string; range: { finishedJobs: number } }>;
      workers: Array<{ hostName: string; failuresByError: unknown }>;
    };
    expect(report).to.deep.include({ state: 'degraded', slo: 0.95 });
    expect(Date.parse(report.until) - Date.parse(report.since)).to.equal(3 * 3_600_000);
    expect(report.queues.map((q) => [q.queueName, q.state])).to.deep.equal([
      ['emails', 'degraded'],
      ['orders', 'healthy'],
      ['rare', 'degraded'],
    ]);
    expect(report.workers[0]?.failuresByError).to.deep.equal([{ errorName: 'Error', failures: 33 }]);
  });

  it('judges, without --until, the end of the current minute, as the dashboard does', async () => {
    const before = Date.now();
    const run = await cli(['health', '--schema', schema('healthy'), '--json']);
    const after = Date.now();
    expect(run.code, run.stderr).to.equal(0);
    const until = Date.parse(/"until": "([^"]+)"/.exec(run.stdout)?.[1] ?? '');
    expect(until % MINUTE, run.stdout).to.equal(0);
    expect(until).to.be.within(judgementMoment(before).getTime(), judgementMoment(after).getTime());
    expect(run.stdout).to.contain(`"since": "${new Date(until - HOUR).toISOString()}"`);
  });

  it('exits 3, "cannot tell", when the database does not answer or the ledger tables are missing', async () => {
    const unreachable = await cli(['health'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' });
    expect(unreachable.code).to.equal(3);
    expect(unreachable.stderr.trim().split('\n')).to.have.length(1);
    expect(unreachable.stderr).to.match(
      /^bullmq-ledger: cannot reach the ledger database at postgresql:\/\/postgres@127\.0\.0\.1:1\/x .*is PostgreSQL running\?/,
    );
    const missing = await cli(['health', '--schema', uniqueSchema('no_tables')]);
    expect(missing.code).to.equal(3);
    expect(missing.stderr).to.match(
      /ledger tables do not exist in schema "bl_no_tables_\w+" of .*; create them with: bullmq-ledger migrate/,
    );
  });

  it('exits 3 for a wrong command line too, and says so in --help', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['health', '--slo', '99'], /--slo must be a number between 0 and 1, exclusive \(0\.99 for 99%\), got "99"/],
      [['health', '--slo', 'high'], /--slo must be a number between 0 and 1/],
      [['health', '--since', 'yesterday'], /--since "yesterday" is neither a duration/],
      [
        ['health', '--until', '2026-12-04T00:00'],
        /--until "2026-12-04T00:00" is neither a duration .* with Z or an offset/,
      ],
      [['health', '--since', '2026-12-05T00:00:00Z', '--until', '2026-12-04T00:00:00Z'], /--since is after --until/],
      [['health', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['health', 'extra'], /usage: bullmq-ledger health/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' });
      expect(run.code, args.join(' ')).to.equal(3);
      expect(run.stderr, args.join(' ')).to.match(message);
    }
    // Other commands keep their codes: 2 for the command line, 1 for the database.
    expect((await cli(['stats', '--since', 'yesterday'])).code).to.equal(2);
    expect((await cli(['stats'], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x' })).code).to.equal(1);
    const help = await cli(['health', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^usage: bullmq-ledger health \[--since 1h\] \[--until <time>\] \[--slo 0\.99\]/);
    expect(help.stdout).to.contain('reaches 14.4x over 1h and 5m, or 6x over 6h and 30m');
    expect(help.stdout).to.match(
      /exit codes:\n {2}0 {2}every queue healthy or unknown\n {2}1 {2}a queue degraded\n {2}2 {2}a queue critical\n {2}3 {2}cannot tell: .*wrong command line/,
    );
    expect((await cli(['--help'])).stdout).to.match(/\n {2}health {5}per-queue health/);
  });
});

describe('bullmq-ledger health and the dashboard, on the same ledger at the same time', () => {
  let db: LedgerDb | undefined;
  // 20 seconds into a minute: the dashboard judges at the end of it, 40 seconds later.
  const now = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE + 20_000;

  before(async () => {
    db = await openLedgerDb('health_cli_moment');
    await migrateLedger(db.orm);
    // Little traffic, and 3 failures for good in the 15 minutes before now, but the first of them
    // 14m45s ago: out of the 15 minutes before the end of the minute. Judged at now the queue is
    // degraded (the low-traffic guard holds); judged at the end of the minute it is unknown.
    await writeRows(db.orm, [
      ...spread('q', 'ok', 10, () => 'completed', { now, fromAgo: 2 * HOUR, toAgo: 20 * MINUTE }),
      attemptEnding('q', 'f1', 'failed', now - 14 * MINUTE - 45_000),
      attemptEnding('q', 'f2', 'failed', now - 10 * MINUTE),
      attemptEnding('q', 'f3', 'failed', now - 5 * MINUTE),
    ]);
  });
  after(() => db?.close());

  it('gives the same judgement as the dashboard, where judging at now would not', async () => {
    if (db === undefined) throw new Error('no database');
    const { orm } = db;
    const printed: string[] = [];
    const parsed = parseCommand(['health', '--json']);
    if (parsed === 'help') throw new Error('parsed as help');
    const code = await planCommand(parsed, now)(orm, {
      out: (text) => printed.push(text),
      err: (text) => printed.push(text),
      errIsTerminal: false,
    });
    const cliReport: unknown = JSON.parse(printed.join('\n'));

    // The dashboard's overview: since from its range (24h), judged at the end of the minute.
    const queries = new LedgerQueries(orm);
    const overview = await evaluateQueueHealth(queries, {
      since: rangeParams(new URLSearchParams(), now).since,
      until: judgementMoment(now),
      slo: DEFAULT_SLO,
    });
    expect(overview.map((q) => [q.queueName, q.state])).to.deep.equal([['q', 'unknown']]);
    // evaluateHealth with its defaults (the moment the dashboard judges): the very report the CLI prints.
    const library = await evaluateHealth({ orm }, { now });
    expect(library.queues.map((q) => [q.queueName, q.state, q.reason])).to.deep.equal(
      overview.map((q) => [q.queueName, q.state, q.reason]),
    );
    expect(cliReport).to.deep.equal(JSON.parse(JSON.stringify(library)));
    expect(code).to.equal(0); // unknown, like the dashboard's badge

    // Where the two disagreed: judged at now itself, the same ledger is degraded.
    const atNow = await evaluateHealth({ orm }, { now, until: new Date(now), since: new Date(now - HOUR) });
    expect(atNow.queues.map((q) => [q.queueName, q.state])).to.deep.equal([['q', 'degraded']]);
  });
});
