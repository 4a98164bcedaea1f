/**
 * The demo (`npm run demo`): a worker with the instrumentation and the ledger
 * processes a realistic mix of jobs, then the ledger is asked what happened.
 * Needs nothing installed: without REDIS_URL and DATABASE_URL it starts an
 * embedded PostgreSQL for the queue and the ledger (see backends.ts).
 *
 *   npm run demo                 # everything embedded, removed at the end
 *   npm run demo -- --keep       # leave it running with the dashboard, to try it and the CLI (Ctrl-C stops it)
 *   DATABASE_URL=... REDIS_URL=... npm run demo
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/postgresql';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type * as BullMQ from 'bullmq';
import { LedgerQueries } from '../../audit';
import { createLedgerDashboard } from '../../dashboard';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from '../../exporter';
import { ledgerEntities, migrateLedger } from '../../schema';
import { BullMQInstrumentation } from '../../src';
import { DemoSetupError, openBackends } from './backends';
import type { DemoBackends } from './backends';
import { demoJobs, runDemoJob } from './job-mix';
import { printReport } from './report';

const { values: args } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });

/** Everything to undo, newest first, whatever way the demo ends. */
const cleanups: Array<() => Promise<unknown>> = [];
let stopping: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the demo`);
    void cleanUp().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

async function main(): Promise<void> {
  const backends = await openBackends(process.env);
  cleanups.push(() => backends.close());
  console.log(backends.description);

  const orm = await MikroORM.init({
    entities: [...ledgerEntities],
    clientUrl: backends.ledgerUrl,
    schema: backends.ledgerSchema,
    pool: { min: 0, max: 4 },
  });
  cleanups.push(() => orm.close(true));
  await migrateLedger(orm);

  // Tracing first, then BullMQ: the instrumentation patches BullMQ when it is loaded.
  const ledger = new LedgerSpanProcessor(new LedgerSpanExporter({ orm }), { flushIntervalMs: 200 });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'bullmq-ledger-demo',
      'host.name': os.hostname(),
      'process.pid': process.pid,
    }),
    sampler: new LedgerSampler(new AlwaysOnSampler()),
    spanProcessors: [ledger],
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });
  cleanups.push(() => provider.shutdown());
  const bullmq = loadBullMQ();

  const queueName = `demo-${Date.now().toString(36)}`;
  const { queue, worker } = createQueueAndWorker(bullmq, backends, queueName);
  cleanups.push(async () => {
    await queue.obliterate({ force: true }); // the demo's jobs; the ledger keeps their story
    await queue.close();
  });
  cleanups.push(() => worker.close());

  const jobs = demoJobs();
  const progress = trackProgress(worker, jobs.length);
  const added = await queue.addBulk(jobs.map((job) => ({ name: job.name, data: job.data, opts: job.opts })));
  console.log(
    `enqueued ${jobs.length} jobs: fast and slow, retried then successful, failing for good, unrecoverable, delayed`,
  );
  await progress;
  await worker.close(); // shutdown order: the worker first (its last spans end), then the ledger is flushed
  await provider.forceFlush();

  // A job retried then successful (odd indexes fail twice first, see job-mix.ts), for its history.
  const retried = added.find((job, i) => job.name === 'charge-card' && (jobs[i]?.data.index ?? 0) % 2 === 1);
  await printReport(new LedgerQueries(orm), queueName, retried?.id);

  if (args.keep === true) {
    const dashboard = createLedgerDashboard({ orm });
    const server = http.createServer(dashboard);
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = await listen(server, Number(process.env.DASHBOARD_PORT ?? 4000));
    console.log(
      `\nThe dashboard: http://127.0.0.1:${port}/ (the job above: http://127.0.0.1:${port}/jobs/${encodeURIComponent(queueName)}/${encodeURIComponent(retried?.id ?? '1')})`,
    );
    console.log(
      `The ledger stays up until you press Ctrl-C. Try the CLI against it, from another terminal in this folder:`,
    );
    console.log(`  export DATABASE_URL=${backends.ledgerUrl}`);
    for (const command of ['stats', 'failures --since 1h', `job ${queueName} ${retried?.id ?? '1'}`, 'workers']) {
      console.log(`  npx tsx audit/cli.ts ${command} --schema ${backends.ledgerSchema}`);
    }
    console.log(
      `Stop it with Ctrl-C${backends.embedded === undefined ? '' : ' (the embedded PostgreSQL and its data are removed)'}.`,
    );
    await new Promise(() => undefined); // until a signal
  }
}

/** Listens on 127.0.0.1:`port`, or on a free port when that one is taken; resolves with the port. */
function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE' && port !== 0) server.listen(0, '127.0.0.1');
      else reject(err);
    };
    server.on('error', onError);
    server.listen(port, '127.0.0.1', () => undefined);
    server.on('listening', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * BullMQ, loaded now with require(): the instrumentation patches it through the
 * require hook (an `import()` here would load it as an ES module, unpatched).
 */
function loadBullMQ(): typeof BullMQ {
  const loaded: unknown = createRequire(__filename)('bullmq');
  const isBullMQ = (value: unknown): value is typeof BullMQ =>
    typeof value === 'object' && value !== null && 'Worker' in value && 'withBackend' in value;
  if (!isBullMQ(loaded)) throw new Error('bullmq did not load');
  return loaded;
}

function createQueueAndWorker(bullmq: typeof BullMQ, backends: DemoBackends, queueName: string) {
  const processor = async (job: BullMQ.Job<{ index: number }>): Promise<unknown> =>
    runDemoJob(job, (message, unrecoverable) => {
      throw unrecoverable ? new bullmq.UnrecoverableError(message) : new Error(message);
    });
  if (backends.queue.kind === 'redis') {
    const connection = backends.queue.connection;
    return {
      queue: new bullmq.Queue(queueName, { connection }),
      worker: new bullmq.Worker(queueName, processor, { connection, concurrency: 8 }),
    };
  }
  const { Queue, Worker } = bullmq.withBackend(bullmq.createPostgresBackend);
  const connection = { connectionString: backends.queue.url, schema: backends.queue.schema, migrate: true };
  return {
    queue: new Queue(queueName, { connection }),
    worker: new Worker(queueName, processor, { connection, concurrency: 8 }),
  };
}

/** Prints progress while the jobs run; resolves when every job is finished for good. */
function trackProgress(
  worker: { on(event: 'completed' | 'failed', listener: (job: { finishedOn?: number } | undefined) => void): unknown },
  total: number,
): Promise<void> {
  const counts = { completed: 0, failed: 0, retried: 0 };
  const line = (): string =>
    `processed ${counts.completed + counts.failed}/${total} jobs: ${counts.completed} completed, ${counts.failed} failed for good, ${counts.retried} retries`;
  const interactive = process.stdout.isTTY;
  return new Promise((resolve) => {
    const timer = setInterval(
      () => {
        if (interactive) process.stdout.write(`\r${line()}`);
        else console.log(line());
      },
      interactive ? 100 : 500,
    );
    const check = (): void => {
      if (counts.completed + counts.failed < total) return;
      clearInterval(timer);
      if (interactive) process.stdout.write(`\r${line()}\n`);
      else console.log(line());
      resolve();
    };
    worker.on('completed', () => {
      counts.completed += 1;
      check();
    });
    worker.on('failed', (job) => {
      // 'failed' fires for every failed attempt; only a final failure sets finishedOn.
      if (job?.finishedOn === undefined) counts.retried += 1;
      else counts.failed += 1;
      check();
    });
  });
}

main()
  .then(() => cleanUp())
  .catch(async (err: unknown) => {
    const text = err instanceof Error ? err.message : String(err);
    console.error(`demo failed: ${err instanceof DemoSetupError ? text : text.split('\n')[0]}`);
    await cleanUp();
    process.exit(1);
  });
