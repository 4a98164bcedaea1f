/**
 * Trace context carried inside a job, in the same format as BullMQ's own
 * telemetry (`bullmq-otel`): a JSON-encoded W3C carrier (whatever the global
 * propagator writes) in `opts.telemetry.metadata`, persisted by BullMQ as
 * `opts.tm`. Jobs added with either package are understood by the other.
 */
import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context, SpanContext } from '@opentelemetry/api';
import { isObject, readProperty } from './safe-read';

/**
 * Returns the job options to pass to BullMQ: a copy of `opts` carrying `ctx`,
 * or `opts` itself when context must not be injected. Follows BullMQ's rule:
 * the caller's own `metadata` is kept and `omitContext: true` means no context,
 * whether set on the job or in the queue's `defaultJobOptions` (BullMQ merges
 * the two shallowly, so our `telemetry` replaces the default one: it copies it).
 */
export function withInjectedContext(opts: unknown, ctx: Context, defaultOpts?: unknown): unknown {
  if (opts !== undefined && !isObject(opts)) return opts;
  const own = readProperty(opts, 'telemetry');
  const telemetry = own === undefined ? readProperty(defaultOpts, 'telemetry') : own;
  if (telemetry !== undefined && !isObject(telemetry)) return opts;
  if (readProperty(telemetry, 'omitContext') === true) return opts;
  if (readProperty(telemetry, 'metadata') !== undefined) return opts;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (Object.keys(carrier).length === 0) return opts; // no propagator registered
  return { ...opts, telemetry: { ...telemetry, metadata: JSON.stringify(carrier) } };
}

/**
 * The producer's span context stored in a job's options, or undefined when
 * there is none or it cannot be read. Foreign or malformed metadata is
 * ignored: it must never break processing.
 */
export function extractProducerContext(jobOpts: unknown): SpanContext | undefined {
  const metadata = readProperty(readProperty(jobOpts, 'telemetry'), 'metadata');
  if (typeof metadata !== 'string' || metadata === '') return undefined;
  let carrier: unknown;
  try {
    carrier = JSON.parse(metadata);
  } catch {
    return undefined;
  }
  if (!isStringRecord(carrier)) return undefined;
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
  return spanContext !== undefined && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}
