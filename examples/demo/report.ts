/** What the demo prints at the end, read back from the ledger with the query API. */
import type { LedgerQueries } from '../../audit';
import { duration, percent, renderTable } from '../../audit/cli/table';

export async function printReport(
  queries: LedgerQueries,
  queueName: string,
  historyJobId: string | undefined,
): Promise<void> {
  const since = new Date(Date.now() - 3_600_000);
  const stats = await queries.queueStats(queueName, { since });
  console.log('\nQueue stats, from the ledger:');
  console.log(
    renderTable(
      ['queue', 'total', 'completed', 'failed', 'retrying', 'pending', 'success', 'avg', 'p50', 'p95', 'p99'],
      [
        [
          stats.queueName,
          stats.totalJobs,
          stats.completedJobs,
          stats.failedJobs,
          stats.retryingJobs,
          stats.pendingJobs,
          percent(stats.successRate),
          duration(stats.averageDurationMs),
          duration(stats.p50DurationMs),
          duration(stats.p95DurationMs),
          duration(stats.p99DurationMs),
        ],
      ],
    ),
  );

  const failures = await queries.recentFailures({ queue: queueName, since, limit: 10 });
  console.log('\nRecent failures (failed for good), with the trace to open in your tracing backend:');
  console.log(
    renderTable(
      ['job', 'name', 'attempts', 'error', 'trace id'],
      failures.map((job) => [
        job.jobId,
        job.jobName,
        job.attempt,
        `${job.errorDetails?.name}: ${job.errorDetails?.message}`,
        job.traceId,
      ]),
    ),
  );

  if (historyJobId === undefined) return;
  const history = await queries.jobHistory(queueName, historyJobId);
  if (history === undefined) return;
  console.log(`\nHistory of job ${historyJobId} (${history.record.jobName}), every attempt:`);
  console.log(
    renderTable(
      ['attempt', 'outcome', 'started', 'duration', 'worker', 'error', 'trace id'],
      history.attempts.map((attempt) => [
        attempt.attempt,
        attempt.outcome,
        attempt.startedAt,
        duration(attempt.durationMs),
        `${attempt.serviceName ?? '?'}@${attempt.hostName ?? '?'}:${attempt.processPid ?? '?'}`,
        attempt.errorDetails === null ? null : `${attempt.errorDetails.name}: ${attempt.errorDetails.message}`,
        attempt.traceId,
      ]),
    ),
  );
}
