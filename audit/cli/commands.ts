/** What each CLI command does: ask the ledger, print a table or JSON. */
import type { MikroORM } from '@mikro-orm/core';
import { migrateLedger } from '../../schema';
import { DEFAULT_HEALTH_RANGE, evaluateHealth, judgementMoment } from '../evaluate-health';
import type { HealthReport } from '../evaluate-health';
import { formatBurnRate } from '../health';
import { LedgerQueries } from '../ledger-queries';
import type { JobSummary } from '../ledger-queries';
import { reconcile } from '../reconcile';
import { HEALTH_EXIT_CODES, MAX_LIMIT, parseCount, parseTime, UsageError } from './arguments';
import type { ParsedCommand } from './arguments';
import { CliError, openQueue } from './connect';
import { dashboardCredentials, serveDashboard } from './serve-dashboard';
import { duration, formatCell, percent, progressBar, renderTable } from './table';

export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly errIsTerminal: boolean;
}

type Options = ParsedCommand['options'];

function stringOption(options: Options, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' ? value : undefined;
}

/** [--since, --until): a relative --since counts back from --until, which is `defaultUntil` when not given. */
function window(
  options: Options,
  defaultSince: string,
  now: number,
  defaultUntil = new Date(now),
): { since: Date; until: Date } {
  const untilText = stringOption(options, 'until');
  const until = untilText === undefined ? defaultUntil : parseTime('until', untilText, now);
  const since = parseTime('since', stringOption(options, 'since') ?? defaultSince, until.getTime());
  if (since > until) throw new UsageError('--since is after --until');
  return { since, until };
}

function print(output: Output, options: Options, json: unknown, table: () => string): void {
  output.out(options.json === true ? JSON.stringify(json, null, 2) : table());
}

function jobTable(jobs: readonly JobSummary[]): string {
  return renderTable(
    ['queue', 'job', 'name', 'status', 'attempt', 'duration', 'ended', 'error', 'trace'],
    jobs.map((job) => [
      job.queueName,
      job.jobId,
      job.jobName,
      job.final || job.status !== 'FAILED' ? job.status : 'RETRYING',
      job.attempt,
      duration(job.durationMs),
      job.completedAt,
      job.errorDetails === null ? null : `${job.errorDetails.name}: ${job.errorDetails.message}`.slice(0, 80),
      job.traceId,
    ]),
  );
}

function healthTables(report: HealthReport): string {
  const windows = report.queues[0]?.windows.map((w) => w.window) ?? [];
  const queues = renderTable(
    [
      'queue',
      'state',
      'jobs',
      'failed',
      'failure ratio',
      'burn rate',
      'budget left',
      ...windows.map((w) => `burn ${w}`),
      'why',
    ],
    report.queues.map((q) => [
      q.queueName,
      q.state,
      q.range.finishedJobs,
      q.range.failedJobs,
      percent(q.range.failureRatio),
      formatBurnRate(q.range.burnRate),
      percent(q.range.errorBudgetLeft),
      ...q.windows.map((w) => formatBurnRate(w.burnRate)),
      q.reason,
    ]),
  );
  const workers = renderTable(
    ['service', 'host', 'pid', 'reliability', 'attempts', 'failures', 'stalled', 'failure rate', 'last seen', 'errors'],
    report.workers.map((w) => [
      w.serviceName,
      w.hostName,
      w.processPid,
      percent(w.reliability),
      w.attempts,
      w.failures,
      w.stalled,
      percent(w.failureRatio),
      w.lastSeen,
      w.failuresByError.map((e) => `${e.errorName} ${e.failures}`).join(', '),
    ]),
  );
  return [
    `${report.state} at ${formatCell(report.until)} against an objective of ${percent(report.slo)}; jobs, failures and workers since ${formatCell(report.since)}`,
    '',
    'queues:',
    queues,
    '',
    'workers:',
    workers,
  ].join('\n');
}

/** A command whose options were checked: it only needs the database to run. Resolves to its exit code (0 if none). */
export type PlannedCommand = (orm: MikroORM, output: Output) => Promise<number | undefined>;

/**
 * Checks every option first (a wrong command line never waits for a connection), then returns the command.
 * `now` is when relative times (`--since 24h`) count back from.
 */
export function planCommand(parsed: ParsedCommand, now: number = Date.now()): PlannedCommand {
  const { options } = parsed;
  const queue = stringOption(options, 'queue');
  switch (parsed.command) {
    case 'migrate':
      return async (orm, output) => {
        const { applied } = await migrateLedger(orm);
        print(output, options, { applied }, () =>
          applied.length === 0
            ? 'the ledger is up to date'
            : `applied ${applied.length} migration(s): ${applied.join(', ')}`,
        );
      };
    case 'stats': {
      const range = window(options, '24h', now);
      return async (orm, output) => {
        const queries = new LedgerQueries(orm);
        const stats =
          queue === undefined ? await queries.allQueueStats(range) : [await queries.queueStats(queue, range)];
        print(output, options, stats, () =>
          renderTable(
            ['queue', 'total', 'completed', 'failed', 'retrying', 'pending', 'success', 'avg', 'p50', 'p95', 'p99'],
            stats.map((s) => [
              s.queueName,
              s.totalJobs,
              s.completedJobs,
              s.failedJobs,
              s.retryingJobs,
              s.pendingJobs,
              percent(s.successRate),
              duration(s.averageDurationMs),
              duration(s.p50DurationMs),
              duration(s.p95DurationMs),
              duration(s.p99DurationMs),
            ]),
          ),
        );
      };
    }
    case 'failures': {
      const range = window(options, '1h', now);
      const limit = parseCount('limit', options.limit, 50, 1, MAX_LIMIT);
      return async (orm, output) => {
        const jobs = await new LedgerQueries(orm).recentFailures({
          ...range,
          queue,
          limit,
          includeRetrying: options.retrying === true,
        });
        print(output, options, jobs, () => jobTable(jobs));
      };
    }
    case 'slowest': {
      const range = window(options, '24h', now);
      const limit = parseCount('limit', options.limit, 10, 1, MAX_LIMIT);
      return async (orm, output) => {
        const jobs = await new LedgerQueries(orm).slowestJobs({ ...range, queue, limit });
        print(output, options, jobs, () => jobTable(jobs));
      };
    }
    case 'stuck': {
      const minRetries = parseCount('min-retries', options['min-retries'], 3, 0);
      const limit = parseCount('limit', options.limit, 50, 1, MAX_LIMIT);
      return async (orm, output) => {
        const jobs = await new LedgerQueries(orm).stuckRetrying({ queue, minRetries, limit });
        print(output, options, jobs, () => jobTable(jobs));
      };
    }
    case 'workers': {
      const range = window(options, '24h', now);
      return async (orm, output) => {
        const workers = await new LedgerQueries(orm).workerStats(range);
        print(output, options, workers, () =>
          renderTable(
            ['service', 'host', 'pid', 'attempts', 'failures', 'stalled', 'failure rate', 'avg', 'p95', 'last seen'],
            workers.map((w) => [
              w.serviceName,
              w.hostName,
              w.processPid,
              w.attempts,
              w.failures,
              w.stalled,
              percent(w.failureRate),
              duration(w.averageDurationMs),
              duration(w.p95DurationMs),
              w.lastSeen,
            ]),
          ),
        );
      };
    }
    case 'health': {
      // Without --until, judged where the dashboard's badges and evaluateHealth judge: the end of the current minute.
      const range = window(options, DEFAULT_HEALTH_RANGE, now, judgementMoment(now));
      const sloText = stringOption(options, 'slo');
      const slo = sloText === undefined ? undefined : Number(sloText);
      if (slo !== undefined && !(slo > 0 && slo < 1)) {
        throw new UsageError(
          `--slo must be a number between 0 and 1, exclusive (0.99 for 99%), got "${sloText ?? ''}"`,
        );
      }
      return async (orm, output) => {
        const report = await evaluateHealth({ orm }, { ...range, slo });
        print(output, options, report, () => healthTables(report));
        return HEALTH_EXIT_CODES[report.state];
      };
    }
    case 'job': {
      const [queueName = '', jobId = ''] = parsed.positionals;
      return async (orm, output) => {
        const history = await new LedgerQueries(orm).jobHistory(queueName, jobId);
        if (history === undefined) {
          // A finding about the ledger, not a wrong command line: exit 1.
          throw new CliError(
            `the ledger has no job ${jobId} in queue ${queueName}; check the queue name and the job id, or run bullmq-ledger reconcile --queue ${queueName} if the job ran without the instrumentation`,
          );
        }
        print(output, options, history, () => {
          const r = history.record;
          const summary = renderTable(
            ['queue', 'job', 'name', 'status', 'attempt', 'final', 'enqueued', 'started', 'ended', 'trace'],
            [
              [
                r.queueName,
                r.jobId,
                r.jobName,
                r.status,
                r.attempt,
                r.final,
                r.enqueuedAt,
                r.startedAt,
                r.completedAt,
                r.traceId,
              ],
            ],
          );
          const attempts = renderTable(
            ['attempt', 'outcome', 'started', 'duration', 'worker', 'error', 'span'],
            history.attempts.map((a) => [
              a.attempt,
              a.outcome,
              a.startedAt,
              duration(a.durationMs),
              [a.serviceName, a.hostName, a.processPid].filter((part) => part !== null).join('/'),
              a.errorDetails === null ? null : `${a.errorDetails.name}: ${a.errorDetails.message}`.slice(0, 80),
              a.spanId,
            ]),
          );
          return `${summary}\n\nattempts:\n${attempts}`;
        });
      };
    }
    case 'dashboard': {
      const port = parseCount('port', options.port, 4000, 0);
      if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
      const host = stringOption(options, 'host') ?? '127.0.0.1';
      const credentials = dashboardCredentials(process.env);
      const traceUrl = stringOption(options, 'trace-url');
      const basePath = stringOption(options, 'base-path');
      return async (orm, output) => {
        await serveDashboard(orm, { port, host, traceUrl, basePath, credentials }, (url) => {
          output.out(`dashboard: ${url}${credentials === undefined ? '' : ' (basic auth)'}`);
          if (credentials === undefined && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
            output.err(
              `warning: serving on ${host} without a password; set BULLMQ_LEDGER_DASHBOARD_USER and BULLMQ_LEDGER_DASHBOARD_PASSWORD\n`,
            );
          }
          output.out('Ctrl-C stops it.');
        });
      };
    }
    case 'reconcile': {
      if (queue === undefined) throw new UsageError('reconcile needs --queue <name>');
      const sinceText = stringOption(options, 'since');
      const since = sinceText === undefined ? undefined : parseTime('since', sinceText, now);
      return async (orm, output) => {
        const showProgress = options.progress === true || output.errIsTerminal;
        const bullmqQueue = await openQueue(queue, stringOption(options, 'redis-url') ?? process.env.REDIS_URL);
        try {
          const result = await reconcile({
            orm,
            queue: bullmqQueue,
            since,
            onProgress: showProgress ? (read, total) => output.err(`\r${progressBar(read, total)}`) : undefined,
          });
          if (showProgress) output.err('\n');
          print(
            output,
            options,
            result,
            () =>
              `${queue}: ${result.scanned} jobs read from BullMQ; ${result.inserted} inserted, ${result.updated} updated, ${result.unchanged} unchanged`,
          );
        } finally {
          await bullmqQueue.close();
        }
      };
    }
  }
}
