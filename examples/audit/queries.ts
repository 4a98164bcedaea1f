/**
 * Asking the ledger the questions of an audit, with the typed query API:
 *
 *   DATABASE_URL=postgresql://127.0.0.1:5432/postgres node --import tsx examples/audit/queries.ts [queue]
 *
 * The same questions on the command line (after `npm run build`, or `npx bullmq-ledger` once installed):
 *
 *   bullmq-ledger stats --since 7d          # jobs, success rate, p50/p95/p99 per queue
 *   bullmq-ledger failures --since 1h       # failed for good, with error and trace id
 *   bullmq-ledger stuck --min-retries 3     # still retrying after 3 failures
 *   bullmq-ledger workers --since 24h       # least reliable workers first
 *   bullmq-ledger slowest --limit 10
 *   bullmq-ledger job emails 1234           # one job's record and every attempt
 *   bullmq-ledger reconcile --queue emails  # fill gaps from what BullMQ still retains
 *
 * Env: DATABASE_URL, LEDGER_SCHEMA (default public).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { LedgerQueries } from 'bullmq-ledger/audit';
import { ledgerEntities } from 'bullmq-ledger/schema';

async function main(queue: string | undefined): Promise<void> {
  const orm = await MikroORM.init({
    entities: [...ledgerEntities],
    clientUrl: process.env.DATABASE_URL ?? 'postgresql://127.0.0.1:5432/postgres',
    schema: process.env.LEDGER_SCHEMA,
    pool: { min: 0, max: 2 },
  });
  try {
    const ledger = new LedgerQueries(orm);
    const week = { since: new Date(Date.now() - 7 * 86_400_000) };
    for (const stats of queue === undefined
      ? await ledger.allQueueStats(week)
      : [await ledger.queueStats(queue, week)]) {
      const rate = stats.successRate === null ? 'n/a' : `${(stats.successRate * 100).toFixed(1)}%`;
      console.log(
        `${stats.queueName}: ${stats.totalJobs} jobs in 7 days, success ${rate}, p95 ${stats.p95DurationMs ?? '-'} ms`,
      );
    }
    for (const job of await ledger.recentFailures({ queue, since: new Date(Date.now() - 3_600_000) })) {
      console.log(
        `failed: ${job.queueName}/${job.jobId} ${job.errorDetails?.name}: ${job.errorDetails?.message} (trace ${job.traceId})`,
      );
    }
    for (const job of await ledger.stuckRetrying({ queue, minRetries: 3 })) {
      console.log(`stuck: ${job.queueName}/${job.jobId} after ${job.retryCount + 1} failures`);
    }
    const [worst] = await ledger.workerStats();
    if (worst !== undefined) {
      console.log(
        `least reliable worker: ${worst.serviceName}@${worst.hostName}:${worst.processPid}, ${(worst.failureRate * 100).toFixed(1)}% of ${worst.attempts} attempts failed`,
      );
    }
    const [slowest] = await ledger.slowestJobs({ queue });
    if (slowest !== undefined) {
      const history = await ledger.jobHistory(slowest.queueName, slowest.jobId);
      console.log(
        `slowest: ${slowest.queueName}/${slowest.jobId}, ${slowest.durationMs} ms, ${history?.attempts.length ?? 0} attempt(s)`,
      );
    }
  } finally {
    await orm.close();
  }
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
