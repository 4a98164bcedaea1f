// Latency of the audit queries on a large ledger: 1,000,000 records over 20 queues
// and 30 days (plus one attempt row each, and more for failed jobs), in a fresh schema
// with the indexes the migrations create. Prints the median of 7 runs per query.
//
//   npm run build && node bench/audit-queries.mjs [--records 1000000] [--keep] [--schema NAME]
import { parseArgs } from 'node:util';
import { LedgerQueries } from '../dist/audit/ledger-queries.js';
import { openLargeLedger } from './large-ledger.mjs';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '1000000' }, keep: { type: 'boolean', default: false }, schema: { type: 'string' } },
});
const { orm, schema, dispose } = await openLargeLedger({ records: Number(values.records), schema: values.schema, keep: values.keep });

try {
  const queries = new LedgerQueries(orm);
  const day = 86_400_000;
  const ago = (ms) => new Date(Date.now() - ms);
  const cases = [
    ['queueStats(queue-3) last 24 h', () => queries.queueStats('queue-3')],
    ['queueStats(queue-3) last 7 days', () => queries.queueStats('queue-3', { since: ago(7 * day) })],
    ['queueStats(queue-3) last 30 days', () => queries.queueStats('queue-3', { since: ago(30 * day) })],
    ['allQueueStats last 24 h', () => queries.allQueueStats()],
    ['allQueueStats last 7 days', () => queries.allQueueStats({ since: ago(7 * day) })],
    ['allQueueStats last 30 days', () => queries.allQueueStats({ since: ago(30 * day) })],
    ['workerStats last 24 h', () => queries.workerStats()],
    ['workerStats last 7 days', () => queries.workerStats({ since: ago(7 * day) })],
    ['workerStats last 30 days', () => queries.workerStats({ since: ago(30 * day) })],
    ['slowestJobs last 24 h', () => queries.slowestJobs()],
    ['slowestJobs last 7 days', () => queries.slowestJobs({ since: ago(7 * day) })],
    ['slowestJobs last 30 days', () => queries.slowestJobs({ since: ago(30 * day) })],
    ['slowestJobs(queue-3) last 24 h', () => queries.slowestJobs({ queue: 'queue-3' })],
    ['slowestJobs(queue-3) last 7 days', () => queries.slowestJobs({ queue: 'queue-3', since: ago(7 * day) })],
    ['slowestJobs(queue-3) last 30 days', () => queries.slowestJobs({ queue: 'queue-3', since: ago(30 * day) })],
    ['recentFailures last hour', () => queries.recentFailures()],
    ['recentFailures last 24 h, with retrying', () => queries.recentFailures({ since: ago(day), includeRetrying: true })],
    ['stuckRetrying min 3 retries', () => queries.stuckRetrying()],
    ['jobHistory(queue-3, 123)', () => queries.jobHistory('queue-3', '123')],
  ];
  console.log('\n| query | median ms (7 runs) | max ms | rows |');
  console.log('|---|---|---|---|');
  for (const [label, run] of cases) {
    await run();
    await run();
    const times = [];
    let rows = 0;
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      const result = await run();
      times.push(performance.now() - started);
      rows = Array.isArray(result) ? result.length : result === undefined ? 0 : 1;
    }
    times.sort((a, b) => a - b);
    console.log(`| ${label} | ${times[3].toFixed(1)} | ${times[6].toFixed(1)} | ${rows} |`);
  }

  // How far the histogram's percentiles are from percentile_cont over the same jobs.
  console.log('\n| percentiles of | p50 exact / estimate | p95 exact / estimate | p99 exact / estimate |');
  console.log('|---|---|---|---|');
  const connection = orm.em.getConnection();
  for (const [label, queue, since] of [
    ['queue-3, last 24 h', 'queue-3', ago(day)],
    ['queue-3, last 30 days', 'queue-3', ago(30 * day)],
    ['queue-11, last 7 days', 'queue-11', ago(7 * day)],
  ]) {
    const stats = await queries.queueStats(queue, { since });
    const [exact] = await connection.execute(
      `select percentile_cont(array[0.5, 0.95, 0.99]) within group (order by duration_ms) as p
      from "${schema}".worker_job_records where queue_name = ? and final and completed_at >= ?`,
      [queue, since],
    );
    const cells = [stats.p50DurationMs, stats.p95DurationMs, stats.p99DurationMs].map((estimate, i) => {
      const value = Number(exact.p[i]);
      return `${value.toFixed(1)} / ${estimate.toFixed(1)} (${(((estimate - value) / value) * 100).toFixed(1)}%)`;
    });
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
} finally {
  await dispose();
}
