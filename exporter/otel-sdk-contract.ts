/**
 * The parts of the OpenTelemetry SDK's contracts the ledger pipeline uses,
 * written out structurally so that it works with either SDK line (2.x
 * `@opentelemetry/sdk-trace-base`, 3.x `@opentelemetry/sdk-trace`) without
 * depending on one: the shapes and values below are the same in both.
 */
import { createContextKey } from '@opentelemetry/api';
import type { Attributes, Context, HrTime, Link, SpanContext, SpanKind, TraceState } from '@opentelemetry/api';

/** `ExportResultCode` of `@opentelemetry/core`. */
export const ExportResultCode = { SUCCESS: 0, FAILED: 1 } as const;
export type ExportResultCode = (typeof ExportResultCode)[keyof typeof ExportResultCode];

export interface ExportResult {
  readonly code: ExportResultCode;
  readonly error?: Error;
}

/** `SamplingDecision` of the SDK. */
export const SamplingDecision = { NOT_RECORD: 0, RECORD: 1, RECORD_AND_SAMPLED: 2 } as const;
export type SamplingDecision = (typeof SamplingDecision)[keyof typeof SamplingDecision];

export interface SamplingResult {
  readonly decision: SamplingDecision;
  readonly attributes?: Readonly<Attributes>;
  readonly traceState?: TraceState;
}

/** The SDK's `Sampler` interface. */
export interface Sampler {
  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult;
  toString(): string;
}

/** What the ledger reads of a finished span (`ReadableSpan` in both SDK lines). */
export interface FinishedSpan {
  readonly name: string;
  readonly kind: SpanKind;
  spanContext(): SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly attributes: Attributes;
  readonly resource: { readonly attributes: Attributes };
  readonly instrumentationScope: { readonly name: string };
}

// The SDK's own key (`suppressTracing` in @opentelemetry/core): createContextKey uses
// Symbol.for, so this is the very key the SDK and instrumentations check.
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/** `suppressTracing` of `@opentelemetry/core`: the ledger's own database I/O must not be traced back into it. */
export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING_KEY, true);
}
