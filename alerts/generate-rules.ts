/**
 * The Prometheus alert rules of bullmq-ledger, generated from the one module
 * of thresholds (audit/health-thresholds.ts) and the metric names the
 * instrumentation records (src/metric-names.ts), so that the alerts, the
 * health judgements and the dashboard agree.
 *
 *   npx tsx alerts/generate-rules.ts [--slo 0.99] [--latency-objective 0.99] \
 *     [--latency-threshold 5] [--unit-suffixes] > rules.yml
 *
 * alerts/prometheus-rules.yml is this output at the defaults.
 */
import {
  BAD_WORKER,
  BURN_RATE_CONDITIONS,
  DEFAULT_LATENCY_SLO,
  DEFAULT_SLO,
  LEDGER_DEGRADED_WINDOW,
  LOW_TRAFFIC_FAILURES,
  MIN_FINISHED_JOBS,
  NO_CONSUMER_FOR,
  windowMs,
} from '../audit/health-thresholds';
import {
  ATTR_ATTEMPT_OUTCOME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_SYSTEM_BULLMQ,
} from '../src/attributes';
import { FAILED_ATTEMPT_OUTCOMES } from '../src/attributes';
import {
  ATTR_EXPORTER_RESULT,
  ATTR_JOB_OUTCOME,
  METRIC_ATTEMPT_OUTCOMES,
  METRIC_CONSUMED_MESSAGES,
  METRIC_EXPORTER_RECORDS,
  METRIC_JOB_OUTCOMES,
  METRIC_PROCESS_DURATION,
  METRIC_QUEUE_OLDEST_WAITING_AGE,
  METRIC_QUEUE_PAUSED,
  METRIC_QUEUE_WAITING,
  PROCESS_DURATION_BUCKETS,
} from '../src/metric-names';

export interface RuleOptions {
  /** Share of the jobs that end which must end completed, strictly between 0 and 1. */
  readonly slo: number;
  /** Share of attempts that must take at most `latencyThresholdSeconds`, strictly between 0 and 1. */
  readonly latencyObjective: number;
  /** A bucket bound of messaging.process.duration, in seconds. */
  readonly latencyThresholdSeconds: number;
  /**
   * Metric names as the OpenTelemetry Collector's Prometheus exporter (and
   * Prometheus' OTLP receiver) render them, with unit suffixes
   * (`messaging_process_duration_seconds`); by default the names of
   * @opentelemetry/exporter-prometheus, which adds none.
   */
  readonly unitSuffixes: boolean;
  /**
   * How long jobs must wait with nothing consumed before the no-consumer page, a Prometheus
   * duration (`10m`, `1h`). Attempts are counted when they end: with jobs that run longer than
   * this, raise it above the longest job, or a busy worker looks like none.
   */
  readonly noConsumerFor: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  slo: DEFAULT_SLO,
  latencyObjective: DEFAULT_LATENCY_SLO.objective,
  latencyThresholdSeconds: DEFAULT_LATENCY_SLO.thresholdSeconds,
  unitSuffixes: false,
  noConsumerFor: NO_CONSUMER_FOR,
};

/** A wrong option: the message says what is accepted. */
export class RuleOptionsError extends Error {
  override readonly name = 'RuleOptionsError';
}

export function checkRuleOptions(options: RuleOptions): RuleOptions {
  const objective = (name: string, value: number, example: string): void => {
    if (!Number.isFinite(value) || !(value > 0 && value < 1)) {
      throw new RuleOptionsError(
        `${name} must be a number strictly between 0 and 1 (${example}), got ${String(value)}`,
      );
    }
  };
  objective('--slo', options.slo, '0.99: 99% of the jobs that end, end completed');
  objective('--latency-objective', options.latencyObjective, '0.99: 99% of attempts take at most the threshold');
  if (!/^[1-9]\d*[smhd]$/.test(options.noConsumerFor)) {
    throw new RuleOptionsError(
      `--no-consumer-for must be a Prometheus duration such as 10m, 45m or 2h, got "${options.noConsumerFor}"`,
    );
  }
  if (!PROCESS_DURATION_BUCKETS.includes(options.latencyThresholdSeconds)) {
    throw new RuleOptionsError(
      `--latency-threshold must be a bucket bound of ${METRIC_PROCESS_DURATION} in seconds ` +
        `(${PROCESS_DURATION_BUCKETS.join(', ')}), got ${String(options.latencyThresholdSeconds)}`,
    );
  }
  return options;
}

// ---------------------------------------------------------------- names

/** A metric or label name as Prometheus exporters render an OpenTelemetry name. */
function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

const LABEL = {
  system: promName(ATTR_MESSAGING_SYSTEM),
  queue: promName(ATTR_MESSAGING_DESTINATION_NAME),
  jobOutcome: promName(ATTR_JOB_OUTCOME),
  attemptOutcome: promName(ATTR_ATTEMPT_OUTCOME),
  exporterResult: promName(ATTR_EXPORTER_RESULT),
} as const;

/** A queue's identity: what every per-queue rule aggregates by and matches on. */
const QUEUE = `${LABEL.system}, ${LABEL.queue}`;
/** A worker process: the queue, and the scrape target Prometheus adds (`job`, `instance`). */
const INSTANCE = `${QUEUE}, job, instance`;

interface MetricNames {
  readonly jobOutcomes: string;
  readonly attemptOutcomes: string;
  readonly consumed: string;
  readonly duration: string;
  readonly exporterRecords: string;
  readonly waiting: string;
  readonly oldestWaitingAge: string;
  readonly paused: string;
}

function metricNames(unitSuffixes: boolean): MetricNames {
  return {
    jobOutcomes: `${promName(METRIC_JOB_OUTCOMES)}_total`,
    attemptOutcomes: `${promName(METRIC_ATTEMPT_OUTCOMES)}_total`,
    consumed: `${promName(METRIC_CONSUMED_MESSAGES)}_total`,
    duration: `${promName(METRIC_PROCESS_DURATION)}${unitSuffixes ? '_seconds' : ''}`,
    exporterRecords: `${promName(METRIC_EXPORTER_RECORDS)}_total`,
    waiting: promName(METRIC_QUEUE_WAITING),
    oldestWaitingAge: `${promName(METRIC_QUEUE_OLDEST_WAITING_AGE)}${unitSuffixes ? '_seconds' : ''}`,
    paused: `${promName(METRIC_QUEUE_PAUSED)}${unitSuffixes ? '_ratio' : ''}`,
  };
}

/** A selector with `messaging_system="bullmq"` and the given matchers. */
function select(metric: string, ...matchers: string[]): string {
  return `${metric}{${[`${LABEL.system}="${MESSAGING_SYSTEM_BULLMQ}"`, ...matchers].join(',')}}`;
}

/**
 * The `le` matcher of a bucket bound. Prometheus 3 stores an integer bound
 * scraped as `le="5"` as `le="5.0"`: both are matched.
 */
function leMatcher(bound: number): string {
  return Number.isInteger(bound) ? `le=~"${bound}(\\\\.0)?"` : `le="${bound}"`;
}

// ---------------------------------------------------------------- numbers

/** A threshold without float noise: 14.4 * (1 - 0.99) is 0.144, not 0.14400000000000013. */
function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}

function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}

function byDuration(windows: Iterable<string>): string[] {
  return [...new Set(windows)].sort((a, b) => windowMs(a) - windowMs(b));
}

const SHORTEST_FIRST = [...BURN_RATE_CONDITIONS].sort((a, b) => windowMs(a.long) - windowMs(b.long));
const BURN_WINDOWS = byDuration(BURN_RATE_CONDITIONS.flatMap((c) => [c.long, c.short]));
const LONG_WINDOWS = byDuration(BURN_RATE_CONDITIONS.map((c) => c.long));
/** The fastest page condition's long window: below MIN_FINISHED_JOBS there, the low-traffic guard takes over. */
const TRAFFIC_WINDOW = SHORTEST_FIRST.find((c) => c.severity === 'page')?.long ?? LOW_TRAFFIC_FAILURES.window;
/** The ledger pipeline's alert window. */
const LEDGER_WINDOW = LEDGER_DEGRADED_WINDOW;

// ---------------------------------------------------------------- rules

interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

type Rule = RecordingRule | AlertingRule;

interface RuleGroup {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** `sum by (labels) (inner)`. */
function sumBy(labels: string, inner: string): string {
  return `sum by (${labels}) (${inner})`;
}

/**
 * How much a counter grew over `window`, per series, counting a series that
 * appeared within the window from zero: `increase()` cannot see the first
 * increment of a series born with it (an OpenTelemetry counter is exported
 * from its first use), and a single spill or the first of three failures
 * would go unseen.
 */
function grewBy(selector: string, window: string): string {
  return `(${selector} unless ${selector} offset ${window})\n  or\n  increase(${selector}[${window}])`;
}

/** numerator / denominator, with 0 when the numerator has no series, and nothing when the denominator is 0. */
function ratio(numerator: string, denominator: string): string {
  return `(\n  ${numerator}\n  or\n  0 * ${denominator}\n)\n/\n(${denominator} > 0)`;
}

function jobOutcomeRules(m: MetricNames): RecordingRule[] {
  const finished = select(m.jobOutcomes, `${LABEL.jobOutcome}=~"completed|failed"`);
  const failed = select(m.jobOutcomes, `${LABEL.jobOutcome}="failed"`);
  return [
    ...BURN_WINDOWS.map((w) => ({
      record: `bullmq_ledger:job_failure_ratio:rate${w}`,
      expr: ratio(sumBy(QUEUE, `rate(${failed}[${w}])`), sumBy(QUEUE, `rate(${finished}[${w}])`)),
    })),
    ...LONG_WINDOWS.map((w) => ({
      record: `bullmq_ledger:job_outcomes:increase${w}`,
      expr: sumBy(QUEUE, `increase(${finished}[${w}])`),
    })),
    {
      record: `bullmq_ledger:job_failures:increase${LOW_TRAFFIC_FAILURES.window}`,
      expr: sumBy(QUEUE, `\n  ${grewBy(failed, LOW_TRAFFIC_FAILURES.window)}\n`),
    },
  ];
}

function latencyRules(m: MetricNames, options: RuleOptions): RecordingRule[] {
  const count = select(`${m.duration}_count`);
  const fast = select(`${m.duration}_bucket`, leMatcher(options.latencyThresholdSeconds));
  return [
    ...BURN_WINDOWS.map((w) => ({
      record: `bullmq_ledger:attempt_slow_ratio:rate${w}`,
      expr:
        `(\n  ${sumBy(QUEUE, `rate(${count}[${w}])`)}\n  -\n  ${sumBy(QUEUE, `rate(${fast}[${w}])`)}\n)\n` +
        `/\n(${sumBy(QUEUE, `rate(${count}[${w}])`)} > 0)`,
    })),
    ...LONG_WINDOWS.map((w) => ({
      record: `bullmq_ledger:attempt_durations:increase${w}`,
      expr: sumBy(QUEUE, `increase(${count}[${w}])`),
    })),
  ];
}

function workerRules(m: MetricNames): RecordingRule[] {
  const w = BAD_WORKER.window;
  const attempts = select(m.attemptOutcomes);
  const failures = select(m.attemptOutcomes, `${LABEL.attemptOutcome}=~"${FAILED_ATTEMPT_OUTCOMES.join('|')}"`);
  const queueAttempts = `bullmq_ledger:attempt_outcomes:increase${w}`;
  const queueFailures = `bullmq_ledger:attempt_failures:increase${w}`;
  const instanceAttempts = `bullmq_ledger_instance:attempt_outcomes:increase${w}`;
  const instanceFailures = `bullmq_ledger_instance:attempt_failures:increase${w}`;
  return [
    { record: queueAttempts, expr: sumBy(QUEUE, `increase(${attempts}[${w}])`) },
    { record: queueFailures, expr: `${sumBy(QUEUE, `increase(${failures}[${w}])`)}\nor\n0 * ${queueAttempts}` },
    { record: instanceAttempts, expr: sumBy(INSTANCE, `increase(${attempts}[${w}])`) },
    {
      record: instanceFailures,
      expr: `${sumBy(INSTANCE, `increase(${failures}[${w}])`)}\nor\n0 * ${instanceAttempts}`,
    },
    {
      record: `bullmq_ledger_instance:attempt_failure_ratio:rate${w}`,
      expr: `${instanceFailures}\n/\n(${instanceAttempts} > 0)`,
    },
    {
      // Every other instance of the queue together: an instance is compared with the rest of its
      // queue, not with a ratio it weighs on itself (with two workers, one failing every attempt
      // could otherwise never reach 3 times its queue's ratio). No series for a queue's only instance.
      record: `bullmq_ledger_instance:queue_rest_attempt_failure_ratio:rate${w}`,
      expr:
        `(${queueFailures} - on (${QUEUE}) group_right ${instanceFailures})\n/\n` +
        `((${queueAttempts} - on (${QUEUE}) group_right ${instanceAttempts}) > 0)`,
    },
  ];
}

interface Sli {
  /** The SLI in a few words: `final-failure`, `latency (5 s)`. */
  readonly name: string;
  /** What went wrong over the long window, after "{{ $value }} of the ". */
  readonly bad: (queue: string, window: string) => string;
  /** What MIN_FINISHED_JOBS counts. */
  readonly counted: string;
  readonly hint: string;
}

function burnRateAlerts(
  alert: string,
  ratioRecord: string,
  trafficRecord: string,
  objective: number,
  sli: Sli,
): AlertingRule[] {
  const queue = `{{ $labels.${LABEL.queue} }}`;
  return BURN_RATE_CONDITIONS.map((c) => {
    const threshold = c.burnRate * (1 - objective);
    return {
      alert,
      expr:
        `${ratioRecord}${c.long} >= ${num(threshold)}\n` +
        `and on (${QUEUE})\n${ratioRecord}${c.short} >= ${num(threshold)}\n` +
        `and on (${QUEUE})\n${trafficRecord}${c.long} >= ${MIN_FINISHED_JOBS}`,
      labels: { severity: c.severity, long: c.long, short: c.short },
      annotations: {
        summary: `Queue ${queue}: ${sli.name} error budget burning at ${num(c.burnRate)}x over ${c.long} and ${c.short}`,
        description:
          `{{ $value | humanizePercentage }} of the ${sli.bad(queue, c.long)}, and at least ${percent(threshold)} ` +
          `in the last ${c.short}: ${num(c.burnRate)} times the error budget of the ${percent(objective)} objective ` +
          `(with at least ${MIN_FINISHED_JOBS} ${sli.counted} in ${c.long}). ${sli.hint}`,
      },
    };
  });
}

/** An alert's value as a whole number: increase() extrapolates (3 failures can read 3.2). */
const COUNT = '{{ printf "%.0f" $value }}';

interface Alerts {
  readonly jobOutcomes: AlertingRule[];
  readonly lowTraffic: AlertingRule[];
  readonly latency: AlertingRule[];
  readonly workers: AlertingRule[];
  readonly queues: AlertingRule[];
  readonly ledger: AlertingRule[];
}

function alertRules(m: MetricNames, options: RuleOptions): Alerts {
  const queue = `{{ $labels.${LABEL.queue} }}`;
  const lt = LOW_TRAFFIC_FAILURES;
  const noConsumerFor = options.noConsumerFor;
  const waiting = select(m.waiting);
  const paused = select(m.paused);
  const consumed = select(m.consumed);
  const w = BAD_WORKER.window;
  const instanceRatio = `bullmq_ledger_instance:attempt_failure_ratio:rate${w}`;
  const ledgerResult = (result: 'spilled' | 'dropped'): string =>
    `${m.exporterRecords}{${LABEL.exporterResult}="${result}"}`;
  const ledgerAlert = (
    result: 'spilled' | 'dropped',
    severity: 'page' | 'ticket',
    summary: string,
    description: string,
  ): AlertingRule => ({
    alert: 'BullMQLedgerDegraded',
    expr: `${sumBy(`job, instance, ${LABEL.exporterResult}`, `\n  ${grewBy(ledgerResult(result), LEDGER_WINDOW)}\n`)} > 0`,
    labels: { severity },
    annotations: { summary, description },
  });
  return {
    jobOutcomes: [
      ...burnRateAlerts(
        'BullMQQueueFailureBudgetBurn',
        'bullmq_ledger:job_failure_ratio:rate',
        'bullmq_ledger:job_outcomes:increase',
        options.slo,
        {
          name: 'final-failure',
          bad: (queue, window) => `jobs of queue ${queue} that ended in the last ${window} failed for good`,
          counted: 'jobs ending',
          hint:
            `Jobs are failing for good: see the failures by error (\`bullmq-ledger failures --queue ${queue}\`, ` +
            `the dashboard's /failures page), then recent deploys and the services the jobs call.`,
        },
      ),
    ],
    latency: burnRateAlerts(
      'BullMQQueueLatencyBudgetBurn',
      'bullmq_ledger:attempt_slow_ratio:rate',
      'bullmq_ledger:attempt_durations:increase',
      options.latencyObjective,
      {
        name: `latency (${num(options.latencyThresholdSeconds)} s)`,
        bad: (queue, window) =>
          `attempts of queue ${queue} in the last ${window} took longer than ${num(options.latencyThresholdSeconds)} s`,
        counted: 'attempts',
        hint:
          `Attempts are slow: see the slowest jobs (\`bullmq-ledger slowest --queue ${queue}\`) and their ` +
          `traces, and whether the workers or the services the jobs call are saturated.`,
      },
    ),
    lowTraffic: [
      {
        alert: 'BullMQQueueLowTrafficFailures',
        expr:
          `bullmq_ledger:job_failures:increase${lt.window} >= ${lt.failures}\n` +
          `unless on (${QUEUE})\nbullmq_ledger:job_outcomes:increase${TRAFFIC_WINDOW} >= ${MIN_FINISHED_JOBS}`,
        labels: { severity: 'ticket' },
        annotations: {
          summary: `Queue ${queue}: ${COUNT} jobs failed for good in ${lt.window}`,
          description:
            `${COUNT} jobs of queue ${queue} failed for good in the last ${lt.window} (alert from ${lt.failures}), ` +
            `with fewer than ${MIN_FINISHED_JOBS} jobs ending in ${TRAFFIC_WINDOW}: too little traffic for the ` +
            `burn-rate alerts to judge. See \`bullmq-ledger failures --queue ${queue}\`.`,
        },
      },
    ],
    queues: [
      {
        alert: 'BullMQQueueNoConsumer',
        expr:
          `(\n  max by (${QUEUE}) (min_over_time(${waiting}[${noConsumerFor}])) > 0\n` +
          `  and on (${QUEUE})\n  max by (${QUEUE}) (${waiting} offset ${noConsumerFor})\n)\n` +
          `unless on (${QUEUE})\n(${sumBy(QUEUE, `increase(${consumed}[${noConsumerFor}])`)} > 0)\n` +
          // Paused on purpose at any time in the window: its jobs wait by design (and for a while after resuming).
          `unless on (${QUEUE})\n(max by (${QUEUE}) (max_over_time(${paused}[${noConsumerFor}])) == 1)`,
        labels: { severity: 'page' },
        annotations: {
          summary: `Queue ${queue}: jobs waiting, none consumed for ${noConsumerFor}`,
          description:
            `Queue ${queue} has had jobs waiting (at least ${COUNT}) for ${noConsumerFor} and no worker ` +
            `consumed any of its jobs in that time, and it was not paused: are its workers running, connected ` +
            `to the right Redis, listening to this queue (prefix, name)? ` +
            `${m.oldestWaitingAge} tells how long the oldest job has waited.`,
        },
      },
    ],
    workers: [
      {
        alert: 'BullMQWorkerFailing',
        expr:
          `${instanceRatio} > ${num(BAD_WORKER.minFailureRatio)}\n` +
          `and on (${INSTANCE})\nbullmq_ledger_instance:attempt_outcomes:increase${w} >= ${BAD_WORKER.minAttempts}\n` +
          `and on (${INSTANCE})\n(${instanceRatio} > on (${INSTANCE}) ` +
          `(${num(BAD_WORKER.ratioOverQueue)} * bullmq_ledger_instance:queue_rest_attempt_failure_ratio:rate${w}))`,
        labels: { severity: 'ticket' },
        annotations: {
          summary: `Worker {{ $labels.instance }} fails {{ $value | humanizePercentage }} of its attempts on queue ${queue}`,
          description:
            `Instance {{ $labels.instance }} (job {{ $labels.job }}) failed {{ $value | humanizePercentage }} of ` +
            `its attempts on queue ${queue} in the last ${w} (at least ${BAD_WORKER.minAttempts} attempts), ` +
            `more than ${num(BAD_WORKER.ratioOverQueue)} times the rest of the queue's workers and above ` +
            `${percent(BAD_WORKER.minFailureRatio)}: look at that host (memory, disk, network to Redis and the ` +
            `services the jobs call, the version it runs), its failures (\`bullmq-ledger workers\`, the dashboard's ` +
            `/workers page), and drain or restart it.`,
        },
      },
    ],
    ledger: [
      ledgerAlert(
        'spilled',
        'ticket',
        'Ledger of {{ $labels.instance }}: records spilled to the spool',
        `The ledger span processor of {{ $labels.instance }} (job {{ $labels.job }}) spilled ${COUNT} records to ` +
          `its spool file in the last ${LEDGER_WINDOW}: the ledger database is unreachable or too slow. The spool ` +
          `is replayed when it answers again; check PostgreSQL, the connection settings and the disk holding the spool.`,
      ),
      ledgerAlert(
        'dropped',
        'page',
        'Ledger of {{ $labels.instance }}: records dropped',
        `The ledger span processor of {{ $labels.instance }} (job {{ $labels.job }}) dropped ${COUNT} records in ` +
          `the last ${LEDGER_WINDOW}: the audit ledger is missing those jobs (the database refused them, or the ` +
          `in-memory queue was full and the spool disabled or unwritable). See the worker's log, then run ` +
          `\`bullmq-ledger reconcile\` for the affected queues.`,
      ),
    ],
  };
}

export function buildRuleGroups(options: RuleOptions = DEFAULT_RULE_OPTIONS): RuleGroup[] {
  checkRuleOptions(options);
  const m = metricNames(options.unitSuffixes);
  const alerts = alertRules(m, options);
  // Each alert in the group of the recording rules it reads: rules of a group run in order, so it
  // reads them from the same evaluation (across groups, they may be one evaluation old).
  return [
    { name: 'bullmq-ledger.job-outcomes', rules: [...jobOutcomeRules(m), ...alerts.jobOutcomes, ...alerts.lowTraffic] },
    { name: 'bullmq-ledger.latency', rules: [...latencyRules(m, options), ...alerts.latency] },
    { name: 'bullmq-ledger.workers', rules: [...workerRules(m), ...alerts.workers] },
    { name: 'bullmq-ledger.queues', rules: alerts.queues },
    { name: 'bullmq-ledger.ledger', rules: alerts.ledger },
  ];
}

// ---------------------------------------------------------------- YAML

/** A YAML double-quoted scalar: JSON's string escapes are a subset of YAML's. */
function quote(text: string): string {
  return JSON.stringify(text);
}

/** A literal block scalar: PromQL as written, quotes and backslashes untouched. */
function block(key: string, text: string, indent: string): string[] {
  return [`${indent}${key}: |-`, ...text.split('\n').map((line) => (line === '' ? '' : `${indent}  ${line}`))];
}

function mapping(key: string, values: Readonly<Record<string, string>>, indent: string): string[] {
  return [`${indent}${key}:`, ...Object.entries(values).map(([k, v]) => `${indent}  ${k}: ${quote(v)}`)];
}

function ruleYaml(rule: Rule): string[] {
  const indent = '        ';
  if ('record' in rule) return [`      - record: ${rule.record}`, ...block('expr', rule.expr, indent)];
  return [
    `      - alert: ${rule.alert}`,
    ...block('expr', rule.expr, indent),
    ...mapping('labels', rule.labels, indent),
    ...mapping('annotations', rule.annotations, indent),
  ];
}

export function commandLine(options: RuleOptions): string {
  return [
    `--slo ${num(options.slo)}`,
    `--latency-objective ${num(options.latencyObjective)}`,
    `--latency-threshold ${num(options.latencyThresholdSeconds)}`,
    ...(options.noConsumerFor === NO_CONSUMER_FOR ? [] : [`--no-consumer-for ${options.noConsumerFor}`]),
    ...(options.unitSuffixes ? ['--unit-suffixes'] : []),
  ].join(' ');
}

/** The rules file, as Prometheus' `rule_files` and `promtool` read it. */
export function generateRules(options: Partial<RuleOptions> = {}): string {
  const resolved = checkRuleOptions({ ...DEFAULT_RULE_OPTIONS, ...options });
  const lines = [
    '# bullmq-ledger alert rules. Generated: do not edit, regenerate with',
    `#   npx tsx alerts/generate-rules.ts ${commandLine(resolved)}`,
    '# Thresholds: audit/health-thresholds.ts; metric names: src/metric-names.ts.',
    'groups:',
  ];
  for (const group of buildRuleGroups(resolved)) {
    lines.push(`  - name: ${group.name}`, '    rules:');
    for (const rule of group.rules) lines.push(...ruleYaml(rule));
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- CLI

export const USAGE = `Usage: npx tsx alerts/generate-rules.ts [options] > rules.yml

Prints the Prometheus rules of bullmq-ledger (recording rules and alerts).

Options:
  --slo <ratio>                 final-failure objective, 0 < ratio < 1 (default ${num(DEFAULT_RULE_OPTIONS.slo)})
  --latency-objective <ratio>   share of attempts within the threshold, 0 < ratio < 1 (default ${num(DEFAULT_RULE_OPTIONS.latencyObjective)})
  --latency-threshold <seconds> a bucket bound of ${METRIC_PROCESS_DURATION} (default ${num(DEFAULT_RULE_OPTIONS.latencyThresholdSeconds)}):
                                ${PROCESS_DURATION_BUCKETS.join(' ')}
  --no-consumer-for <duration>  how long jobs wait with nothing consumed before the no-consumer page
                                (default ${NO_CONSUMER_FOR}); attempts count when they end: keep it above the longest job
  --unit-suffixes               metric names with unit suffixes (messaging_process_duration_seconds), as the
                                OpenTelemetry Collector's Prometheus exporter writes them
  --help                        this text`;

const NUMBER_OPTIONS = {
  '--slo': 'slo',
  '--latency-objective': 'latencyObjective',
  '--latency-threshold': 'latencyThresholdSeconds',
} as const;

function isNumberOption(arg: string): arg is keyof typeof NUMBER_OPTIONS {
  return Object.hasOwn(NUMBER_OPTIONS, arg);
}

/** The options of a command line (`--name value` or `--name=value`), or 'help'. Throws a RuleOptionsError. */
export function parseArguments(argv: readonly string[]): RuleOptions | 'help' {
  const numbers: { slo: number; latencyObjective: number; latencyThresholdSeconds: number } = {
    slo: DEFAULT_RULE_OPTIONS.slo,
    latencyObjective: DEFAULT_RULE_OPTIONS.latencyObjective,
    latencyThresholdSeconds: DEFAULT_RULE_OPTIONS.latencyThresholdSeconds,
  };
  let unitSuffixes = false;
  let noConsumerFor = DEFAULT_RULE_OPTIONS.noConsumerFor;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === '--help' || name === '-h') return 'help';
    if (name === '--unit-suffixes' && name === arg) {
      unitSuffixes = true;
      continue;
    }
    if (name === '--no-consumer-for') {
      const text = name === arg ? argv[++i] : arg.slice(eq + 1);
      if (text === undefined || text.trim() === '') throw new RuleOptionsError(`${name} needs a duration such as 30m`);
      noConsumerFor = text.trim();
      continue;
    }
    if (!isNumberOption(name)) {
      throw new RuleOptionsError(`unknown argument "${arg}" (--help lists the options)`);
    }
    const text = name === arg ? argv[++i] : arg.slice(eq + 1);
    if (text === undefined || text.trim() === '') throw new RuleOptionsError(`${name} needs a number`);
    const value = Number(text);
    if (!Number.isFinite(value)) throw new RuleOptionsError(`${name} needs a number, got "${text}"`);
    numbers[NUMBER_OPTIONS[name]] = value;
  }
  return checkRuleOptions({ ...numbers, unitSuffixes, noConsumerFor });
}

/** Burn-rate conditions that can never hold: their failure ratio would have to exceed 100%. */
export function unreachableConditions(options: RuleOptions): string[] {
  const warnings: string[] = [];
  for (const [objective, name] of [
    [options.slo, '--slo'],
    [options.latencyObjective, '--latency-objective'],
  ] as const) {
    for (const c of BURN_RATE_CONDITIONS) {
      if (c.burnRate * (1 - objective) >= 1) {
        warnings.push(
          `${name} ${num(objective)}: the ${num(c.burnRate)}x condition (${c.long}/${c.short}) needs a ratio of ` +
            `${percent(c.burnRate * (1 - objective))} and can never fire`,
        );
      }
    }
  }
  return warnings;
}

/** Runs the CLI: 0 printed, 2 wrong command line. */
export function main(
  argv: readonly string[],
  out: (text: string) => void = (text) => process.stdout.write(text),
  err: (text: string) => void = (text) => process.stderr.write(text),
): number {
  let options: RuleOptions | 'help';
  try {
    options = parseArguments(argv);
  } catch (error: unknown) {
    if (!(error instanceof RuleOptionsError)) throw error;
    err(`generate-rules: ${error.message}\n`);
    return 2;
  }
  if (options === 'help') {
    out(`${USAGE}\n`);
    return 0;
  }
  for (const warning of unreachableConditions(options)) err(`generate-rules: warning: ${warning}\n`);
  out(generateRules(options));
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
