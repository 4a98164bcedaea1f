import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { isJobSpanStart } from '../src/ledger-span-mark';
import { SamplingDecision } from './otel-sdk-contract';
import type { Sampler, SamplingResult } from './otel-sdk-contract';

/**
 * Wraps the application's sampler so that the ledger sees every job while the
 * tracing backend keeps exactly the application's sampling. For the job spans
 * of this package's instrumentation (attempts, and the adds of jobs), a
 * NOT_RECORD decision becomes RECORD: the span is recorded, so span processors
 * (the LedgerSpanProcessor) see it, but not sampled, so the stock processors
 * and exporters ignore it. Every other span, including the spans a processor
 * creates inside a job, gets the application's decision unchanged.
 *
 * @example
 * new NodeSDK({ sampler: new LedgerSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) })) })
 */
export class LedgerSampler implements Sampler {
  constructor(private readonly appSampler: Sampler) {
    if (typeof appSampler !== 'object' || appSampler === null || typeof appSampler.shouldSample !== 'function') {
      throw new TypeError(
        "bullmq-ledger: LedgerSampler wraps your application's sampler: pass one, e.g. new LedgerSampler(new AlwaysOnSampler()).",
      );
    }
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const result = this.appSampler.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    if (result.decision !== SamplingDecision.NOT_RECORD || !isJobSpanStart(context)) return result;
    return { ...result, decision: SamplingDecision.RECORD };
  }

  toString(): string {
    return `LedgerSampler{${this.appSampler.toString()}}`;
  }
}
