/**
 * Process-start tracing for a worker with the ledger: the application keeps its
 * tracing backend (here the console, sampled at 10%) and the ledger gets every
 * job, from the same spans. Import this file before anything loads `bullmq`.
 */
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQInstrumentation } from '../../src';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from '../../exporter';

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';

// The application's own sampling decides what the tracing backend gets...
const appSampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) });
// ...and LedgerSampler records (without sampling) the job spans it would drop, for the ledger.
const sampler: Sampler = new LedgerSampler(appSampler);

export const ledger = new LedgerSpanProcessor(new LedgerSpanExporter({ clientUrl: databaseUrl, migrate: true }));
const spanProcessors: SpanProcessor[] = [new BatchSpanProcessor(new ConsoleSpanExporter()), ledger];

export const provider = new NodeTracerProvider({ sampler, spanProcessors });
provider.register();
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });

/**
 * Shutdown order: stop the worker first (running attempts finish and end their
 * spans), then the provider (the ledger drains, or keeps what it cannot write
 * in its spool for the next start).
 */
export async function shutdown(worker: { close(): Promise<void> }): Promise<void> {
  await worker.close();
  await provider.shutdown();
}
