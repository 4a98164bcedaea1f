/**
 * A worker whose spans go to the application's OTLP backend (10% of jobs) and
 * to the ledger (all of them). Run it with a collector listening (or not:
 * the ledger does not depend on it):
 *
 *   DATABASE_URL=postgresql://127.0.0.1:5432/postgres node --import tsx examples/with-otlp/main.ts
 *
 * Env: JOBS (default 200), QUEUE_NAME, REDIS_URL, and those of tracing.ts.
 * Prints one JSON line: the jobs processed and the ledger's counters.
 */
import { ledger, provider } from './tracing'; // first: before bullmq loads
import { Queue, Worker } from 'bullmq';

async function main(): Promise<void> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const name = process.env.QUEUE_NAME ?? `with-otlp-${process.pid}`;
  const jobs = Number(process.env.JOBS ?? 200);
  const queue = new Queue(name, { connection });
  let completed = 0;
  const worker = new Worker(name, async (job) => ({ handled: job.name }), { connection, concurrency: 20 });
  const done = new Promise<void>((resolve) => {
    worker.on('completed', () => {
      completed += 1;
      if (completed === jobs) resolve();
    });
  });
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: `job-${i % 5}`, data: { i } })));
  await done;
  // Shutdown order: the worker (its last attempts end), then the provider: the OTLP
  // exporter flushes and the ledger drains (or keeps the rest in its spool).
  await worker.close();
  await provider.shutdown();
  console.log(JSON.stringify({ queue: name, jobs: completed, ledger: ledger.counters() }));
  await queue.obliterate({ force: true });
  await queue.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
