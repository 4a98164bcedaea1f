/**
 * One tracer provider feeding both the application's tracing backend (OTLP over
 * HTTP, sampled at 10%) and the ledger (every job). Import it before anything
 * loads `bullmq`.
 *
 * Env: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (default http://localhost:4318/v1/traces),
 * DATABASE_URL (the ledger's PostgreSQL), LEDGER_SCHEMA (default public).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQInstrumentation } from 'bullmq-ledger';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from 'bullmq-ledger/exporter';

/** The application's own sampling: what its tracing backend receives. */
export const appSampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) });

export const ledger = new LedgerSpanProcessor(
  new LedgerSpanExporter({
    clientUrl: process.env.DATABASE_URL ?? 'postgresql://127.0.0.1:5432/postgres',
    schema: process.env.LEDGER_SCHEMA,
    migrate: true,
  }),
);

export const provider = new NodeTracerProvider({
  // LedgerSampler keeps the application's decisions, but records the job spans it would drop, for the ledger.
  sampler: new LedgerSampler(appSampler),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter()), ledger],
});
provider.register();
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });
