// @ts-check
// An ES-module worker: one job that fails once, then succeeds. Run with
//   node --import ./tracing.mjs app.mjs   (QUEUE_NAME and REDIS_URL optional)
import { trace } from '@opentelemetry/api';
import { Queue, Worker } from 'bullmq';

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const name = process.env.QUEUE_NAME ?? `register-example-${process.pid}`;
const queue = new Queue(name, { connection });
let attempts = 0;
/** @type {Promise<Worker>} */
const completed = new Promise((resolve) => {
  const worker = new Worker(
    name,
    async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('first attempt fails');
      return 'ok';
    },
    { connection },
  );
  worker.on('completed', () => resolve(worker));
});
await queue.add('esm-job', {}, { attempts: 2 });
const worker = await completed;
// Shutdown order: the worker first (its last spans end), then the tracer provider (spans flushed).
await worker.close();
const provider = trace.getTracerProvider();
if ('shutdown' in provider && typeof provider.shutdown === 'function') await provider.shutdown();
await queue.obliterate({ force: true });
await queue.close();
