// The ledger pipeline on the OpenTelemetry 3.x line: with the application's
// sampler at 0%, every job still reaches the ledger tables. Env: DATABASE_URL.
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { context, propagation, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} = require('@opentelemetry/sdk-trace');
const { Client } = require('pg');
const { BullMQInstrumentation } = require('bullmq-ledger');
const { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } = require('bullmq-ledger/exporter');

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const schema = `bl_otel3_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const backend = new InMemorySpanExporter();
const ledger = new LedgerSpanProcessor(new LedgerSpanExporter({ clientUrl: databaseUrl, schema, migrate: true }), {
  flushIntervalMs: 50,
});
const provider = new TracerProvider({
  sampler: new LedgerSampler(new AlwaysOffSampler()),
  spanProcessors: [new SimpleSpanProcessor({ exporter: backend }), ledger],
});
trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });
const { Queue, Worker } = require('bullmq');

async function main() {
  const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
  const name = `bl-otel3-ledger-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  let completed = 0;
  const worker = new Worker(
    name,
    async (job) => {
      if (job.attemptsMade === 0 && job.name === 'flaky') throw new Error('first try');
      return 'ok';
    },
    { connection },
  );
  const done = new Promise((resolve) => worker.on('completed', () => ++completed === 20 && resolve()));
  await queue.addBulk(Array.from({ length: 19 }, (_, i) => ({ name: 'job', data: { i } })));
  await queue.add('flaky', {}, { attempts: 2 });
  await done;
  // Shutdown order: the worker, then the provider (which drains the ledger).
  await worker.close();
  await provider.shutdown();
  await queue.obliterate({ force: true });
  await queue.close();

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const records = await client.query(
      `select status, count(*)::int as n from "${schema}".worker_job_records group by status`,
    );
    const attempts = await client.query(`select count(*)::int as n from "${schema}".worker_job_attempts`);
    assert.deepEqual(records.rows, [{ status: 'COMPLETED', n: 20 }]);
    assert.equal(attempts.rows[0].n, 21);
    assert.equal(backend.getFinishedSpans().length, 0, 'the 0% sampler sends nothing to the backend');
    console.log('OpenTelemetry 3.x line: the ledger has all 20 jobs and 21 attempts; the backend none');
  } finally {
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
