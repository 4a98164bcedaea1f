/**
 * The mark that lets a sampler recognise this package's job spans. It is set
 * only on the context passed to `startSpan` (never on the context the
 * processor runs in), so the spans a processor creates are not marked. The
 * key is `Symbol.for(...)`: two copies of the package agree on it.
 */
import { createContextKey } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';

const JOB_SPAN_KEY = createContextKey('bullmq-ledger.job-span');

/** `ctx` with the mark, for starting a job span (an attempt, or the add of a job). */
export function markJobSpanStart(ctx: Context): Context {
  return ctx.setValue(JOB_SPAN_KEY, true);
}

/** Whether a span being started in `ctx` is one of this package's job spans. */
export function isJobSpanStart(ctx: Context): boolean {
  return ctx.getValue(JOB_SPAN_KEY) === true;
}
