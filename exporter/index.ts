/**
 * `bullmq-ledger/exporter`: the pipeline from the instrumentation's job spans
 * to the ledger tables.
 *
 * ```ts
 * const exporter = new LedgerSpanExporter({ orm });
 * new NodeSDK({
 *   sampler: new LedgerSampler(appSampler),
 *   spanProcessors: [new BatchSpanProcessor(otlpExporter), new LedgerSpanProcessor(exporter)],
 *   instrumentations: [new BullMQInstrumentation()],
 * });
 * ```
 */
export { LedgerSampler } from './ledger-sampler';
export { LedgerSpanProcessor } from './ledger-span-processor';
export type { LedgerCounters, LedgerSpanProcessorOptions } from './ledger-span-processor';
export { LedgerSpanExporter } from './ledger-span-exporter';
export type { LedgerRowSink, LedgerSpanExporterOptions } from './ledger-span-exporter';
export { spanToLedgerRows, recordId } from './ledger-rows';
export type { AttemptRow, LedgerRows, RecordRow, WorkerIdentity } from './ledger-rows';
export type { ExportResult, FinishedSpan, Sampler, SamplingResult } from './otel-sdk-contract';
