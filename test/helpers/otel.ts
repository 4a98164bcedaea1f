/**
 * One tracer provider and one BullMQInstrumentation for the whole test run,
 * created before BullMQ is first loaded. Spans go to an in-memory exporter
 * through a SimpleSpanProcessor, so a span is readable as soon as it ends.
 */
import { SpanKind } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQInstrumentation, ATTR_MESSAGING_DESTINATION_NAME, PACKAGE_NAME } from '../../src';
import type { BullMQInstrumentationConfig } from '../../src';
import { waitFor } from './wait';

export const memoryExporter = new InMemorySpanExporter();
export const provider = new NodeTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(memoryExporter)],
});
provider.register();

export const instrumentation = new BullMQInstrumentation();
registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });

/** Applies `config` for the current test; `resetInstrumentationConfig` restores the defaults. */
export function configureInstrumentation(config: BullMQInstrumentationConfig): void {
  instrumentation.setConfig(config);
}

export function resetInstrumentationConfig(): void {
  instrumentation.setConfig({});
}

/** Spans of this package (not BullMQ's own telemetry) about `queue`. */
export function ledgerSpans(queue: string, kind?: SpanKind): ReadableSpan[] {
  return memoryExporter
    .getFinishedSpans()
    .filter(
      (span) =>
        span.instrumentationScope.name === PACKAGE_NAME &&
        (kind === undefined || span.kind === kind) &&
        (span.attributes[ATTR_MESSAGING_DESTINATION_NAME] === queue || span.name.endsWith(` ${queue}`)),
    );
}

/** The attempt spans of `queue`, in the order they ended. */
export function processSpans(queue: string): ReadableSpan[] {
  return ledgerSpans(queue, SpanKind.CONSUMER);
}

/** Waits until `queue` has at least `count` attempt spans, and returns them. */
export async function waitForProcessSpans(queue: string, count: number, timeoutMs = 10_000): Promise<ReadableSpan[]> {
  await waitFor(() => processSpans(queue).length >= count, {
    timeoutMs,
    what: `${count} process spans for queue ${queue} (have ${processSpans(queue).length})`,
  });
  return processSpans(queue);
}
