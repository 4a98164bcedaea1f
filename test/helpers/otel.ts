/**
 * One tracer provider and one BullMQInstrumentation for the whole test run,
 * created before BullMQ is first loaded. Spans go to an in-memory exporter
 * through a SimpleSpanProcessor, so a span is readable as soon as it ends.
 */
import { SpanKind } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AlwaysOnSampler, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Sampler, SamplingResult, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQInstrumentation, ATTR_MESSAGING_DESTINATION_NAME, PACKAGE_NAME } from '../../src';
import type { BullMQInstrumentationConfig } from '../../src';
import { waitFor } from './wait';

/** The application's tracing backend in tests: gets what a stock processor exports (sampled spans). */
export const memoryExporter = new InMemorySpanExporter();

/** The provider's sampler and an extra processor, replaceable per test (a provider's are fixed at construction). */
class SwitchableSampler implements Sampler {
  current: Sampler = new AlwaysOnSampler();
  shouldSample(...args: Parameters<Sampler['shouldSample']>): SamplingResult {
    return this.current.shouldSample(...args);
  }
  toString(): string {
    return `Switchable{${this.current.toString()}}`;
  }
}
class SwitchableProcessor implements SpanProcessor {
  current: SpanProcessor[] = [];
  onStart(span: Span, parentContext: Context): void {
    for (const processor of this.current) processor.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    for (const processor of this.current) processor.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.current.map((processor) => processor.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.current.map((processor) => processor.shutdown()));
  }
}

/** Every span that ends recorded (sampled or not), for assertions about recording. */
export class RecordedSpans implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush = (): Promise<void> => Promise.resolve();
  shutdown = (): Promise<void> => Promise.resolve();
}
export const sampler = new SwitchableSampler();
export const extraProcessor = new SwitchableProcessor();

export const provider = new NodeTracerProvider({
  sampler,
  spanProcessors: [new SimpleSpanProcessor(memoryExporter), extraProcessor],
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
