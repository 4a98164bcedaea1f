/**
 * A worker whose job spans are printed: what the instrumentation records for
 * each attempt. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379).
 *
 *   npm run demo
 */
import { provider } from './tracing'; // first: the instrumentation must be registered before bullmq loads
import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, Worker } from 'bullmq';

const connection = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
const queueName = `demo-${randomUUID().slice(0, 8)}`;

async function main(): Promise<void> {
  const queue = new Queue(queueName, { connection });
  console.log(`queue ${queueName} on ${connection.url}\n`);
  await queue.add('send-email', { to: 'ada@example.com' });
  await queue.add('charge-card', { amount: 42 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
  await queue.add('sync-crm', {}, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
  await queue.add('import-csv', {}, { attempts: 3 });

  const worker = new Worker(
    queueName,
    async (job) => {
      switch (job.name) {
        case 'charge-card':
          if (job.attemptsMade === 0) throw new Error('card gateway timeout');
          return { charged: true };
        case 'sync-crm':
          throw new Error('CRM API returned 503');
        case 'import-csv':
          throw new UnrecoverableError('header row missing');
        default:
          return 'sent';
      }
    },
    { connection },
  );
  let settled = 0;
  const allSettled = new Promise<void>((resolve) => {
    const onFinal = (): void => {
      settled += 1;
      if (settled === 4) resolve();
    };
    worker.on('completed', onFinal);
    // 'failed' fires for every failed attempt; only a final failure sets finishedOn.
    worker.on('failed', (job) => {
      if (job?.finishedOn !== undefined) onFinal();
    });
  });
  await allSettled;

  // Shutdown order: stop taking jobs, then flush spans, then close the queue.
  await worker.close();
  await provider.shutdown();
  await queue.obliterate({ force: true });
  await queue.close();
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error('Is Redis running? Start it, or point REDIS_URL at one.');
  process.exit(1);
});
