// An application on the OpenTelemetry 3.x line using the packed bullmq-ledger:
// one job that fails once then succeeds must give a send span and two process
// spans with the right outcomes, linked to the send span. Exits non-zero otherwise.
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { context, propagation, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
const { BullMQInstrumentation, ATTR_ATTEMPT_OUTCOME } = require('bullmq-ledger');

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const exporter = new InMemorySpanExporter();
// 3.x processors take an options object.
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
trace.setGlobalTracerProvider(provider);
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });

const { Queue, Worker } = require('bullmq'); // after the instrumentation

async function main() {
  const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
  const name = `bl-otel3-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  const worker = new Worker(
    name,
    async (job) => {
      if (job.attemptsMade === 0) throw new Error('first try');
      return 'ok';
    },
    { connection },
  );
  const completed = new Promise((resolve) => worker.on('completed', resolve));
  await queue.add('j', {}, { attempts: 2 });
  await completed;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await provider.forceFlush(); // 3.x exports asynchronously

  const spans = exporter.getFinishedSpans().filter((span) => span.instrumentationScope.name === 'bullmq-ledger');
  const send = spans.find((span) => span.name === `send ${name}`);
  const attempts = spans.filter((span) => span.name === `process ${name}`);
  assert.ok(send, 'a send span');
  assert.deepEqual(
    attempts.map((span) => span.attributes[ATTR_ATTEMPT_OUTCOME]),
    ['retry', 'completed'],
  );
  for (const attempt of attempts) assert.equal(attempt.links[0]?.context.spanId, send.spanContext().spanId);
  const apiVersion = JSON.parse(
    readFileSync(path.join(__dirname, 'node_modules/@opentelemetry/api/package.json'), 'utf8'),
  ).version;
  console.log(`OpenTelemetry 3.x line (@opentelemetry/api ${apiVersion}): spans as expected`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
