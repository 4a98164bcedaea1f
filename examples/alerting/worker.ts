/**
 * A worker whose metrics Prometheus scrapes, for the alert rules in
 * alerts/prometheus-rules.yml (see prometheus.yml next to this file).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 METRICS_PORT=9464 npx tsx examples/alerting/worker.ts
 *   curl http://127.0.0.1:9464/metrics
 *
 * The MeterProvider is registered before the instrumentation, so that every
 * attempt is counted (whatever the tracer samples); `observeQueues` adds the
 * waiting-job and paused gauges that the no-consumer alert needs.
 */
import { createRequire } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type * as BullMQ from 'bullmq';
import { BullMQInstrumentation, observeQueues } from '../../src';

const port = Number(process.env.METRICS_PORT ?? 9464);
const prometheus = new PrometheusExporter({ port, host: '127.0.0.1' });
const meterProvider = new MeterProvider({ readers: [prometheus] });
const tracerProvider = new NodeTracerProvider(); // your exporters here; metrics do not depend on sampling
tracerProvider.register();
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider, meterProvider });

// Loaded after the instrumentation is registered, so that it is patched.
const bullmq: unknown = createRequire(__filename)('bullmq');
function isBullMQ(value: unknown): value is typeof BullMQ {
  return typeof value === 'object' && value !== null && 'Worker' in value && 'Queue' in value;
}
if (!isBullMQ(bullmq)) throw new Error('bullmq did not load');

const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const connection = { host: redis.hostname, port: Number(redis.port || 6379) };
const queueName = process.env.QUEUE_NAME ?? 'emails';
const queue = new bullmq.Queue(queueName, { connection });
const gauges = observeQueues([queue], { meterProvider });

// Some jobs complete, some are retried, some fail for good: series for every rule to read.
const worker = new bullmq.Worker(
  queueName,
  async (job) => {
    const { fail } = job.data as { fail?: 'once' | 'always' };
    if (fail === 'always' || (fail === 'once' && job.attemptsMade === 0)) throw new Error('SMTP refused');
    return 'sent';
  },
  { connection, concurrency: 4 },
);

async function main(): Promise<void> {
  await queue.addBulk([
    ...Array.from({ length: 8 }, (_, i) => ({ name: 'send', data: { i } })),
    { name: 'send', data: { fail: 'once' }, opts: { attempts: 2 } },
    { name: 'send', data: { fail: 'always' }, opts: { attempts: 2 } },
  ]);
  console.log(`metrics: http://127.0.0.1:${port}/metrics (queue ${queueName})`);
}

async function stop(): Promise<void> {
  gauges.stop();
  await worker.close();
  await queue.close();
  await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void stop().then(() => process.exit(0)));
void main();
