// One benchmark run, in a fresh process: N no-op jobs through one Worker.
// Prints one JSON line: { variant, concurrency, jobs, seconds, jobsPerSecond, cpuMicrosPerJob, spans }.
//
//   node bench/throughput-run.mjs <variant> <concurrency> <jobs>
//
// Variants:
//   plain         BullMQ alone, no OpenTelemetry.
//   otel-context  A NodeTracerProvider registered and its context manager in use
//                 (what any instrumented application pays), no BullMQ instrumentation.
//   ledger        bullmq-ledger's BullMQInstrumentation.
//   bullmq-otel   BullMQ's own `telemetry` option with bullmq-otel, on the Queue and the Worker.
// Every variant with OpenTelemetry exports through a BatchSpanProcessor (defaults)
// to an exporter that only counts, so the cost measured is the instrumentation's.
import { randomUUID } from 'node:crypto';

const VARIANTS = ['plain', 'otel-context', 'ledger', 'bullmq-otel'];
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

let provider;
if (variant !== 'plain') {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(countingExporter)] });
  provider.register();
}
if (variant === 'otel-context') {
  // The context manager (AsyncLocalStorage) starts tracking promises on first use.
  const { context, ROOT_CONTEXT } = await import('@opentelemetry/api');
  context.with(ROOT_CONTEXT, () => undefined);
}
if (variant === 'ledger') {
  // This file is ESM: `import('bullmq')` is patched only through the import hook.
  const { register } = await import('node:module');
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
  const { BullMQInstrumentation } = await import('bullmq-ledger');
  registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });
}
// BullMQ is loaded only now, after the instrumentation (if any) is registered.
const { Queue, Worker } = await import('bullmq');
let telemetry;
if (variant === 'bullmq-otel') {
  const { BullMQOtel } = await import('bullmq-otel');
  telemetry = new BullMQOtel({ tracerName: 'bench' });
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

let completed = 0;
let startedAt = 0;
let cpuAtStart;
const worker = await new Promise((resolve) => {
  const w = new Worker(name, async () => undefined, { connection, concurrency, autorun: false, telemetry });
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
await provider?.shutdown();
console.log(
  JSON.stringify({
    variant,
    concurrency,
    jobs,
    seconds,
    jobsPerSecond: jobs / seconds,
    cpuMicrosPerJob: (cpu.user + cpu.system) / jobs,
    spans: exported,
  }),
);
