// @ts-check
// A CommonJS worker: one job that fails once, then succeeds. Run with
//   node -r ./tracing.cjs app.cjs        (QUEUE_NAME and REDIS_URL optional)
const { Queue, Worker } = require('bullmq');
const { provider } = require('./tracing.cjs');

async function main() {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const name = process.env.QUEUE_NAME ?? `register-example-${process.pid}`;
  const queue = new Queue(name, { connection });
  let attempts = 0;
  const worker = new Worker(
    name,
    async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('first attempt fails');
      return 'ok';
    },
    { connection },
  );
  /** @type {Promise<void>} */
  const completed = new Promise((resolve) => {
    worker.on('completed', () => resolve());
  });
  await queue.add('cjs-job', {}, { attempts: 2 });
  await completed;
  // Shutdown order: the worker first (its last spans end), then the provider (spans flushed).
  await worker.close();
  await provider.shutdown();
  await queue.obliterate({ force: true });
  await queue.close();
}

void main();
