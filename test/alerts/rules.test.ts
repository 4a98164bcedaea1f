/**
 * The Prometheus rules in alerts/: valid for promtool, unit-tested by
 * promtool over synthetic series (alerts/tests/*.yml), generated from the
 * thresholds module, and the generator's command line. promtool comes from
 * Debian's `prometheus` package (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { generateRules } from '../../alerts/generate-rules';
import { BURN_RATE_CONDITIONS, DEFAULT_SLO } from '../../audit/health-thresholds';

const ROOT = path.resolve(__dirname, '../..');
const GENERATOR = path.join(ROOT, 'alerts/generate-rules.ts');
const RULES = path.join(ROOT, 'alerts/prometheus-rules.yml');
const TESTS_DIR = path.join(ROOT, 'alerts/tests');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        // Not started (ENOENT) or killed by the timeout.
        if (err.code === 'ENOENT') {
          reject(new Error(`${file} is not installed: install Debian's prometheus package (see .ci/run)`));
        } else {
          reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
        }
        return;
      }
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

const promtool = (...args: string[]): Promise<Run> => run(PROMTOOL, args);
const generator = (...args: string[]): Promise<Run> => run(process.execPath, ['--import', 'tsx', GENERATOR, ...args]);

/** Fails with promtool's (or the generator's) whole output. */
function expectSuccess(result: Run, what: string): void {
  expect(result.code, `${what} failed (exit ${String(result.code)}):\n${result.stdout}${result.stderr}`).to.equal(0);
}

/** The threshold of an alert condition on `record` in a rules file, e.g. `bullmq_ledger:job_failure_ratio:rate1h >= 0.144`. */
function thresholdsOf(yaml: string, record: string): number[] {
  const escaped = record.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...yaml.matchAll(new RegExp(`^\\s*${escaped} >= ([0-9.e-]+)$`, 'gm'))].map((m) => Number(m[1]));
}

describe('Prometheus alert rules (alerts/, checked by promtool)', function () {
  this.timeout(180_000);
  let tmp: string;

  before(async () => {
    const version = await promtool('--version');
    expectSuccess(version, 'promtool --version');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bullmq-ledger-alerts-'));
  });
  after(() => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('promtool check rules accepts alerts/prometheus-rules.yml', async () => {
    const result = await promtool('check', 'rules', RULES);
    expectSuccess(result, 'promtool check rules');
    expect(result.stdout).to.match(/SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes alerts/tests/*.yml (each alert firing and not)', async () => {
    const files = fs
      .readdirSync(TESTS_DIR)
      .filter((name) => name.endsWith('.yml'))
      .sort()
      .map((name) => path.join(TESTS_DIR, name));
    expect(files.map((file) => path.basename(file))).to.include.members([
      'job-failures.yml',
      'latency.yml',
      'low-traffic.yml',
      'no-consumer.yml',
      'bad-worker.yml',
      'ledger.yml',
    ]);
    const result = await promtool('test', 'rules', ...files);
    expectSuccess(result, 'promtool test rules');
    const alertsTested = new Set(
      files.flatMap((file) => [...fs.readFileSync(file, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1])),
    );
    const alertsDefined = new Set([...fs.readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]));
    expect([...alertsTested].sort()).to.deep.equal([...alertsDefined].sort());
  });

  it('the committed file is the generator output at the defaults', async () => {
    const committed = fs.readFileSync(RULES, 'utf8');
    expect(committed, 'alerts/prometheus-rules.yml is stale: run npx tsx alerts/generate-rules.ts').to.equal(
      generateRules(),
    );
    const cli = await generator();
    expectSuccess(cli, 'generate-rules');
    expect(cli.stdout).to.equal(committed);
    expect(cli.stderr).to.equal('');
  });

  it('takes its thresholds from audit/health-thresholds.ts', () => {
    const yaml = generateRules();
    for (const c of BURN_RATE_CONDITIONS) {
      const threshold = Number((c.burnRate * (1 - DEFAULT_SLO)).toPrecision(12));
      expect(thresholdsOf(yaml, `bullmq_ledger:job_failure_ratio:rate${c.long}`)).to.include(threshold);
      expect(thresholdsOf(yaml, `bullmq_ledger:job_failure_ratio:rate${c.short}`)).to.include(threshold);
    }
  });

  it('generates with another SLO: valid, other thresholds, and they change which alerts fire', async () => {
    const custom = path.join(tmp, 'rules-995.yml');
    const cli = await generator('--slo', '0.995');
    expectSuccess(cli, 'generate-rules --slo 0.995');
    fs.writeFileSync(custom, cli.stdout);
    expectSuccess(await promtool('check', 'rules', custom), 'promtool check rules (--slo 0.995)');

    expect(cli.stdout).to.contain('--slo 0.995 --latency-objective 0.99 --latency-threshold 5');
    expect(cli.stdout).to.not.equal(generateRules());
    for (const c of BURN_RATE_CONDITIONS) {
      const record = `bullmq_ledger:job_failure_ratio:rate${c.long}`;
      const before = Number((c.burnRate * (1 - DEFAULT_SLO)).toPrecision(12));
      const after = Number((c.burnRate * (1 - 0.995)).toPrecision(12));
      expect(thresholdsOf(generateRules(), record), record).to.include(before);
      expect(thresholdsOf(cli.stdout, record), record).to.include(after).and.not.include(before);
    }
    // The latency objective is its own option: unchanged.
    expect(thresholdsOf(cli.stdout, 'bullmq_ledger:attempt_slow_ratio:rate1h')).to.include(0.144);

    // 10% of the jobs failing for 2h: under 14.4% (no fast page at 99%), over 14.4 x 0.5% = 7.2%.
    const series = (outcome: string, perMinute: number): string =>
      `      - series: 'bullmq_ledger_job_outcomes_total{messaging_system="bullmq",messaging_destination_name="emails",` +
      `bullmq_ledger_job_outcome="${outcome}",job="workers",instance="w1:9464"}'\n        values: '0+${perMinute}x120'\n`;
    const firing = (severity: string, long: string): string =>
      `count(ALERTS{alertname="BullMQQueueFailureBudgetBurn",alertstate="firing",severity="${severity}",long="${long}"}) or vector(0)`;
    const unitTest = (rules: string, fastPages: number): string =>
      `rule_files: [${JSON.stringify(rules)}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n` +
      series('completed', 90) +
      series('failed', 10) +
      `    promql_expr_test:\n` +
      `      - expr: '${firing('page', '1h')}'\n        eval_time: 120m\n        exp_samples: [{labels: '{}', value: ${fastPages}}]\n` +
      `      - expr: '${firing('page', '6h')}'\n        eval_time: 120m\n        exp_samples: [{labels: '{}', value: 1}]\n`;
    fs.writeFileSync(path.join(tmp, 'default.test.yml'), unitTest(RULES, 0));
    fs.writeFileSync(path.join(tmp, 'custom.test.yml'), unitTest(custom, 1));
    const result = await promtool(
      'test',
      'rules',
      path.join(tmp, 'default.test.yml'),
      path.join(tmp, 'custom.test.yml'),
    );
    expectSuccess(result, 'promtool test rules (99% vs 99.5%)');
  });

  it('generates another latency objective and threshold, and Collector-style metric names', async () => {
    const cli = await generator('--latency-objective=0.95', '--latency-threshold', '2.5', '--unit-suffixes');
    expectSuccess(cli, 'generate-rules --latency-objective=0.95 --latency-threshold 2.5 --unit-suffixes');
    const file = path.join(tmp, 'rules-latency.yml');
    fs.writeFileSync(file, cli.stdout);
    expectSuccess(await promtool('check', 'rules', file), 'promtool check rules (latency options)');
    expect(cli.stdout).to.contain('messaging_process_duration_seconds_bucket{messaging_system="bullmq",le="2.5"}');
    expect(cli.stdout).to.not.contain('messaging_process_duration_count');
    // A gauge with unit "1" gets the _ratio suffix from those exporters.
    expect(cli.stdout).to.contain('bullmq_ledger_queue_paused_ratio{messaging_system="bullmq"}');
    expect(thresholdsOf(cli.stdout, 'bullmq_ledger:attempt_slow_ratio:rate1h')).to.include(0.72);
    expect(thresholdsOf(cli.stdout, 'bullmq_ledger:attempt_slow_ratio:rate3d')).to.include(0.05);
    expect(cli.stdout).to.contain('took longer than 2.5 s');
    // An integer bound matches Prometheus 3's normalised le="5.0" too.
    expect(generateRules()).to.contain('le=~"5(\\\\.0)?"');
  });

  it('waits --no-consumer-for before the no-consumer page, so workers on long jobs do not look absent', async () => {
    const custom = path.join(tmp, 'rules-long-jobs.yml');
    const cli = await generator('--no-consumer-for', '30m');
    expectSuccess(cli, 'generate-rules --no-consumer-for 30m');
    fs.writeFileSync(custom, cli.stdout);
    expect(cli.stdout).to.contain('--latency-threshold 5 --no-consumer-for 30m');
    expect(cli.stdout).to.contain('jobs waiting, none consumed for 30m');
    // A worker busy on 15-minute jobs: an attempt ends (and counts) every 15 minutes, jobs keep waiting.
    const unitTest = (rules: string, firing: number): string =>
      `rule_files: [${JSON.stringify(rules)}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n` +
      `      - series: 'bullmq_ledger_queue_waiting{messaging_system="bullmq",messaging_destination_name="video",job="api",instance="a:9464"}'\n` +
      `        values: '5x60'\n` +
      `      - series: 'messaging_client_consumed_messages_total{messaging_system="bullmq",messaging_operation_name="process",messaging_destination_name="video",job="workers",instance="w1:9464"}'\n` +
      `        values: '1x14 2x15 3x15 4x15'\n` +
      `    promql_expr_test:\n` +
      `      - expr: 'count(ALERTS{alertname="BullMQQueueNoConsumer",alertstate="firing"}) or vector(0)'\n` +
      `        eval_time: 28m\n        exp_samples: [{labels: '{}', value: ${firing}}]\n`;
    fs.writeFileSync(path.join(tmp, 'long-default.test.yml'), unitTest(RULES, 1));
    fs.writeFileSync(path.join(tmp, 'long-custom.test.yml'), unitTest(custom, 0));
    const result = await promtool(
      'test',
      'rules',
      path.join(tmp, 'long-default.test.yml'),
      path.join(tmp, 'long-custom.test.yml'),
    );
    expectSuccess(result, 'promtool test rules (no-consumer 10m vs 30m)');
  });

  it('refuses bad arguments with a clear message and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--slo', '1'], /--slo must be a number strictly between 0 and 1 .*got 1$/m],
      [['--slo', '0'], /--slo must be a number strictly between 0 and 1/],
      [['--slo', '99'], /--slo must be a number strictly between 0 and 1 .*got 99$/m],
      [['--slo', '-0.5'], /--slo must be a number strictly between 0 and 1/],
      [['--slo', 'high'], /--slo needs a number, got "high"/],
      [['--slo'], /--slo needs a number/],
      [['--latency-objective', '1.5'], /--latency-objective must be a number strictly between 0 and 1/],
      [
        ['--latency-threshold', '3'],
        /--latency-threshold must be a bucket bound of messaging\.process\.duration .*2\.5, 5, 7\.5.*got 3$/m,
      ],
      [['--latency-threshold', '5s'], /--latency-threshold needs a number, got "5s"/],
      [['--no-consumer-for', '0m'], /--no-consumer-for must be a Prometheus duration such as 10m, 45m or 2h, got "0m"/],
      [['--no-consumer-for', '30 minutes'], /--no-consumer-for must be a Prometheus duration .*got "30 minutes"/],
      [['--no-consumer-for'], /--no-consumer-for needs a duration such as 30m/],
      [['--slos', '0.9'], /unknown argument "--slos" \(--help lists the options\)/],
      [['0.995'], /unknown argument "0.995"/],
    ];
    for (const [args, message] of cases) {
      const result = await generator(...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(2);
      expect(result.stdout, args.join(' ')).to.equal('');
      expect(result.stderr, args.join(' ')).to.match(/^generate-rules: /);
      expect(result.stderr, args.join(' ')).to.match(message);
    }
  });

  it('warns about conditions an SLO makes unreachable, and prints its usage', async () => {
    const low = await generator('--slo', '0.9');
    expectSuccess(low, 'generate-rules --slo 0.9');
    expect(low.stderr).to.contain('the 14.4x condition (1h/5m) needs a ratio of 144% and can never fire');
    const help = await generator('--help');
    expectSuccess(help, 'generate-rules --help');
    expect(help.stdout).to.contain('Usage: npx tsx alerts/generate-rules.ts');
  });
});
