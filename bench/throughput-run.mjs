// One benchmark run, in a fresh process: N no-op jobs through one Worker.
// Prints one JSON line: { variant, concurrency, jobs, seconds, jobsPerSecond, cpuMicrosPerJob, spans }.
//
//   node bench/throughput-run.mjs <variant> <concurrency> <jobs>
//
// Variants:
//   plain         BullMQ alone, no OpenTelemetry.
//   otel-context  A NodeTracerProvider registered and its context manager in use
//                 (what any instrumented application pays), no BullMQ instrumentation.
//   span-floor    The least any span-per-attempt instrumentation costs through this pipeline:
//                 Worker.prototype.processJob patched by hand to start one bare span (no
//                 attributes, links, context or propagation) and end it as soon as processJob
//                 returns its promise. Not a usable instrumentation (the span ends before the
//                 job does); a floor that no real one can beat.
//   ledger        bullmq-ledger's BullMQInstrumentation.
//   ledger-metrics  The same, with a MeterProvider registered (its metrics recorded for every
//                 attempt; a Prometheus exporter's reader, never scraped during the run).
//   bullmq-otel   BullMQ's own `telemetry` option with bullmq-otel, on the Queue and the Worker.
//   ledger-pg     The whole product: the instrumentation and the ledger (LedgerSampler,
//                 LedgerSpanProcessor, LedgerSpanExporter) writing into PostgreSQL. After the
//                 run the provider is shut down (the ledger drains) and every row is checked.
//   per-job-upsert  No tracing: the hand-written ledger this product replaces, one MikroORM
//                 upsert per job inside the processor.
// Except ledger-pg, the OpenTelemetry variants export through a BatchSpanProcessor (defaults)
// to an exporter that only counts, so the cost measured is the instrumentation's. DATABASE_URL (default
// postgresql://root@127.0.0.1:5432/test) is used by the last two, in a schema of their own.
import { randomUUID } from 'node:crypto';

const VARIANTS = ['plain', 'otel-context', 'span-floor', 'ledger', 'ledger-metrics', 'bullmq-otel', 'ledger-pg', 'per-job-upsert'];
const [variant, concurrencyArg, jobsArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const jobs = Number(jobsArg);
if (!VARIANTS.includes(variant) || !(concurrency > 0) || !(jobs > 0)) {
  console.error(`usage: throughput-run.mjs <${VARIANTS.join('|')}> <concurrency> <jobs>`);
  process.exit(2);
}
const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };

let exported = 0;
const countingExporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: async () => undefined,
  forceFlush: async () => undefined,
};

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let provider;
let ledgerProcessor;
if (['otel-context', 'span-floor', 'ledger', 'ledger-metrics', 'bullmq-otel'].includes(variant)) {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(countingExporter)] });
  provider.register();
}
if (variant === 'ledger-pg') {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { AlwaysOnSampler } = await import('@opentelemetry/sdk-trace-base');
  const { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } = await import('bullmq-ledger/exporter');
  const exporter = new LedgerSpanExporter({ clientUrl: databaseUrl, schema, migrate: true });
  ledgerProcessor = new LedgerSpanProcessor(exporter);
  provider = new NodeTracerProvider({ sampler: new LedgerSampler(new AlwaysOnSampler()), spanProcessors: [ledgerProcessor] });
  provider.register();
}
if (variant === 'otel-context') {
  // The context manager (AsyncLocalStorage) starts tracking promises on first use.
  const { context, ROOT_CONTEXT } = await import('@opentelemetry/api');
  context.with(ROOT_CONTEXT, () => undefined);
}
let meterProvider;
if (variant === 'ledger-metrics') {
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  meterProvider = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] });
}
if (variant === 'ledger' || variant === 'ledger-metrics' || variant === 'ledger-pg') {
  // This file is ESM: `import('bullmq')` is patched only through the import hook.
  const { register } = await import('node:module');
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { BullMQInstrumentation } = await import('bullmq-ledger');
  registerInstrumentations({
    instrumentations: [new BullMQInstrumentation()],
    tracerProvider: provider,
    ...(meterProvider === undefined ? {} : { meterProvider }),
  });
}
// BullMQ is loaded only now, after the instrumentation (if any) is registered.
const { Queue, Worker } = await import('bullmq');
if (variant === 'span-floor') {
  const { trace, SpanKind } = await import('@opentelemetry/api');
  const tracer = trace.getTracer('span-floor');
  const processJob = Worker.prototype.processJob;
  Worker.prototype.processJob = function processJobWithBareSpan(...args) {
    const span = tracer.startSpan('process', { kind: SpanKind.CONSUMER });
    try {
      return processJob.apply(this, args);
    } finally {
      span.end();
    }
  };
}
let telemetry;
if (variant === 'bullmq-otel') {
  const { BullMQOtel } = await import('bullmq-otel');
  telemetry = new BullMQOtel({ tracerName: 'bench' });
}
let processor = async () => undefined;
let orm;
if (variant === 'per-job-upsert') {
  const { MikroORM } = await import('@mikro-orm/postgresql');
  const { ledgerEntities, migrateLedger, WorkerJobRecord } = await import('bullmq-ledger/schema');
  orm = await MikroORM.init({ entities: [...ledgerEntities], clientUrl: databaseUrl, schema, pool: { min: 0, max: 10 } });
  await migrateLedger(orm);
  // What teams write by hand: an upsert per job, in the processor.
  processor = async (job) => {
    const now = new Date();
    await orm.em.fork().upsert(WorkerJobRecord, {
      id: `${job.queueName}:${job.id}`, jobId: job.id, queueName: job.queueName, jobName: job.name,
      status: 'COMPLETED', startedAt: now, completedAt: now, attempt: job.attemptsMade + 1, final: true, updatedAt: now,
    }, { onConflictFields: ['jobId', 'queueName'] });
    return undefined;
  };
}

// Jobs are added before the clock starts (with context, where the variant propagates it).
const name = `bench-${randomUUID().slice(0, 8)}`;
const queue = new Queue(name, { connection, telemetry });
for (let added = 0; added < jobs; added += 1000) {
  const count = Math.min(1000, jobs - added);
  await queue.addBulk(
    Array.from({ length: count }, (_, i) => ({ name: 'noop', data: { i: added + i }, opts: { removeOnComplete: true } })),
  );
}
// The adds' spans (and, for ledger-pg, their PENDING rows) are the producer's work: done before the clock.
await provider?.forceFlush();

let completed = 0;
let startedAt = 0;
let cpuAtStart;
const worker = await new Promise((resolve) => {
  const w = new Worker(name, processor, { connection, concurrency, autorun: false, telemetry });
  w.on('completed', () => {
    completed += 1;
    if (completed === jobs) resolve(w);
  });
  startedAt = performance.now();
  cpuAtStart = process.cpuUsage();
  void w.run();
});
const seconds = (performance.now() - startedAt) / 1000;
const cpu = process.cpuUsage(cpuAtStart);

await worker.close();
await provider?.forceFlush();
await queue.obliterate({ force: true });
await queue.close();
const drainStarted = performance.now();
await provider?.shutdown();
const drainSeconds = (performance.now() - drainStarted) / 1000;
let ledgerRows;
if (variant === 'ledger-pg' || variant === 'per-job-upsert') {
  // Every job must be in the ledger: a fast run that loses rows is no result.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query(`select count(*)::int as n from "${schema}".worker_job_records where queue_name = $1 and status = 'COMPLETED'`, [name]);
  ledgerRows = rows[0].n;
  await client.query(`drop schema "${schema}" cascade`);
  await client.end();
  await orm?.close(true);
  if (ledgerRows !== jobs) {
    console.error(`the ledger has ${ledgerRows} of ${jobs} jobs (counters ${JSON.stringify(ledgerProcessor?.counters())})`);
    process.exit(1);
  }
}
console.log(
  JSON.stringify({
    variant,
    concurrency,
    jobs,
    seconds,
    jobsPerSecond: jobs / seconds,
    cpuMicrosPerJob: (cpu.user + cpu.system) / jobs,
    spans: exported,
    ...(ledgerRows === undefined ? {} : { ledgerRows, drainSeconds }),
  }),
);
