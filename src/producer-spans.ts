/**
 * Spans for adding jobs, following the messaging conventions: a single
 * `Queue.add` is one PRODUCER `send {queue}` span whose context travels in
 * the job; a batch (`Queue.addBulk`, a flow) is one CLIENT `send` span with a
 * PRODUCER `create {queue}` child per job, each job carrying its own create
 * span's context. Every PRODUCER span gets the job's id and enqueue time once
 * BullMQ has assigned them, so the ledger can open a PENDING row per job.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { Context, DiagLogger, Span, Tracer } from '@opentelemetry/api';
import * as attr from './attributes';
import { jobIdOf, queueNameOf } from './bullmq-shapes';
import { errorLimits } from './config';
import type { ResolvedConfig } from './config';
import { errorToDetails } from './error-details';
import { markJobSpanStart } from './ledger-span-mark';
import { withInjectedContext } from './propagation';
import { isObject, isPromiseLike, readFiniteNumber, readProperty, readString } from './safe-read';
import { recordErrorDetails } from './span-error';

export interface ProducerSpansDeps {
  readonly tracer: () => Tracer;
  readonly config: () => ResolvedConfig;
  readonly diag: DiagLogger;
}

/** Calls BullMQ's original method with the given arguments. */
export type CallOriginal = (args: unknown[]) => unknown;

/** A traced call being prepared: its spans, and the arguments that carry their context. */
interface Prepared {
  readonly spans: readonly Span[];
  readonly ctx: Context;
  readonly args: unknown[];
  readonly onAdded: (added: unknown) => void;
}

/** A flow node's create span, shaped like the flow so results can be matched back. */
interface FlowSpans {
  readonly span: Span;
  readonly children: readonly FlowSpans[];
}

export class ProducerSpans {
  constructor(private readonly deps: ProducerSpansDeps) {}

  /** `Queue.add(name, data, opts)`. */
  add(queue: unknown, args: unknown[], call: CallOriginal): unknown {
    return this.traced(args, call, (started) => {
      const queueName = queueNameOf(queue) ?? '';
      const span = started(this.startSpan(attr.OPERATION_SEND, SpanKind.PRODUCER, queueName, args[0]));
      const ctx = trace.setSpan(context.active(), span);
      const injected = [...args];
      injected[2] = withInjectedContext(args[2], ctx, readProperty(queue, 'jobsOpts'));
      return { ctx, args: injected, onAdded: (job) => setJobIdentity(span, job) };
    });
  }

  /** `Queue.addBulk(jobs)`. */
  addBulk(queue: unknown, args: unknown[], call: CallOriginal): unknown {
    const jobs = args[0];
    if (!Array.isArray(jobs)) return call(args);
    return this.traced(args, call, (started) => {
      const queueName = queueNameOf(queue) ?? '';
      const defaults = readProperty(queue, 'jobsOpts');
      const ctx = this.startBatch(started, queueName, jobs.length);
      const creates = jobs.map((job: unknown) =>
        started(this.startSpan(attr.OPERATION_CREATE, SpanKind.PRODUCER, queueName, readProperty(job, 'name'), ctx)),
      );
      const injected = [...args];
      injected[0] = jobs.map((job: unknown, i) => withContextInOpts(job, spanContext(ctx, creates[i]), defaults));
      return {
        ctx,
        args: injected,
        onAdded: (added) => {
          if (Array.isArray(added)) creates.forEach((span, i) => setJobIdentity(span, added[i]));
        },
      };
    });
  }

  /** `FlowProducer.add(flow, opts)`. */
  addFlow(args: unknown[], call: CallOriginal): unknown {
    const flow = args[0];
    if (!isObject(flow)) return call(args);
    const queuesOptions = readProperty(args[1], 'queuesOptions');
    return this.traced(args, call, (started) => {
      const ctx = this.startBatch(started, singleQueue([flow]), countNodes(flow));
      const spans = this.startFlowSpans(started, ctx, flow);
      const injected = [...args];
      injected[0] = withContextInFlow(flow, spans, ctx, queuesOptions);
      return { ctx, args: injected, onAdded: (tree) => matchFlowResult(spans, tree) };
    });
  }

  /** `FlowProducer.addBulk(flows)`: BullMQ takes no per-call options here. */
  addFlows(args: unknown[], call: CallOriginal): unknown {
    const flows = args[0];
    if (!Array.isArray(flows) || !flows.every(isObject)) return call(args);
    return this.traced(args, call, (started) => {
      const total = flows.reduce((sum: number, flow) => sum + countNodes(flow), 0);
      const ctx = this.startBatch(started, singleQueue(flows), total);
      const spans = flows.map((flow) => this.startFlowSpans(started, ctx, flow));
      const injected = [...args];
      injected[0] = flows.map((flow, i) => withContextInFlow(flow, spans[i], ctx, undefined));
      return {
        ctx,
        args: injected,
        onAdded: (trees) => {
          if (Array.isArray(trees)) spans.forEach((tree, i) => matchFlowResult(tree, trees[i]));
        },
      };
    });
  }

  /**
   * Prepares the spans and the context-carrying arguments, calls BullMQ, and
   * ends the spans when the call settles, passing its value and errors through
   * untouched. If preparing fails (a bug, a hostile propagator), the spans
   * started so far are ended and BullMQ is called untraced.
   */
  private traced(
    args: unknown[],
    call: CallOriginal,
    prepare: (started: (span: Span) => Span) => Omit<Prepared, 'spans'>,
  ): unknown {
    const spans: Span[] = [];
    let prepared: Prepared;
    try {
      prepared = {
        ...prepare((span) => {
          spans.push(span);
          return span;
        }),
        spans,
      };
    } catch (err) {
      this.deps.diag.error('bullmq-ledger: could not trace a job add; adding it untraced', err);
      this.endAll(spans);
      return call(args);
    }
    let result: unknown;
    try {
      result = context.with(prepared.ctx, () => call(prepared.args));
    } catch (err) {
      this.endAll(spans, err);
      throw err;
    }
    if (!isPromiseLike(result)) {
      this.endAll(spans);
      return result;
    }
    return result.then(
      (added) => {
        try {
          prepared.onAdded(added);
        } catch (err) {
          this.deps.diag.error('bullmq-ledger: could not read the added jobs', err);
        }
        this.endAll(spans);
        return added;
      },
      (err: unknown) => {
        this.endAll(spans, err);
        throw err;
      },
    );
  }

  /** A PRODUCER span of one job: marked, so that a LedgerSampler records it for the ledger's PENDING row. */
  private startSpan(operation: string, kind: SpanKind, queueName: string, jobName: unknown, parent?: Context): Span {
    const attributes = attr.messagingAttributes(operation, queueName);
    if (typeof jobName === 'string') attributes[attr.ATTR_BULLMQ_JOB_NAME] = jobName;
    return this.deps
      .tracer()
      .startSpan(`${operation} ${queueName}`, { kind, attributes }, markJobSpanStart(parent ?? context.active()));
  }

  /** The batch's CLIENT `send` span; returns the context its create spans are children of. */
  private startBatch(started: (span: Span) => Span, queueName: string | undefined, count: number): Context {
    const attributes = attr.messagingAttributes(attr.OPERATION_SEND, queueName);
    attributes[attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = count;
    const name = queueName === undefined ? attr.OPERATION_SEND : `${attr.OPERATION_SEND} ${queueName}`;
    const send = started(this.deps.tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }));
    return trace.setSpan(context.active(), send);
  }

  private startFlowSpans(started: (span: Span) => Span, parent: Context, node: object): FlowSpans {
    const queueName = readString(node, 'queueName') ?? '';
    const span = started(
      this.startSpan(attr.OPERATION_CREATE, SpanKind.PRODUCER, queueName, readProperty(node, 'name'), parent),
    );
    return { span, children: flowChildren(node).map((child) => this.startFlowSpans(started, parent, child)) };
  }

  private endAll(spans: readonly Span[], failure?: unknown): void {
    const limits = errorLimits(this.deps.config());
    for (const span of spans) {
      try {
        if (failure !== undefined) recordErrorDetails(span, errorToDetails(failure, limits));
        span.end();
      } catch (err) {
        this.deps.diag.error('bullmq-ledger: could not end a producer span', err);
      }
    }
  }
}

function setJobIdentity(span: Span, job: unknown): void {
  const id = jobIdOf(job);
  if (id !== undefined) span.setAttribute(attr.ATTR_MESSAGING_MESSAGE_ID, id);
  const enqueuedAt = readFiniteNumber(job, 'timestamp');
  if (enqueuedAt !== undefined) span.setAttribute(attr.ATTR_JOB_ENQUEUED_AT, enqueuedAt);
}

function spanContext(parent: Context, span: Span | undefined): Context {
  return span === undefined ? parent : trace.setSpan(parent, span);
}

/** A copy of a job (or flow node) whose `opts` carry `ctx`; anything else unchanged. */
function withContextInOpts(job: unknown, ctx: Context, defaultOpts: unknown): unknown {
  if (!isObject(job)) return job;
  const opts = readProperty(job, 'opts');
  const injected = withInjectedContext(opts, ctx, defaultOpts);
  return injected === opts ? job : { ...job, opts: injected };
}

/** Injects each node's create span context, honouring `queuesOptions[queue].defaultJobOptions`. */
function withContextInFlow(
  node: object,
  spans: FlowSpans | undefined,
  parent: Context,
  queuesOptions: unknown,
): unknown {
  if (spans === undefined) return node;
  const defaults = readProperty(readProperty(queuesOptions, readString(node, 'queueName') ?? ''), 'defaultJobOptions');
  const copy = withContextInOpts(node, trace.setSpan(parent, spans.span), defaults);
  const children = readProperty(node, 'children');
  if (!Array.isArray(children) || !isObject(copy)) return copy;
  let next = 0;
  const injectedChildren = children.map((child: unknown) =>
    isObject(child) ? withContextInFlow(child, spans.children[next++], parent, queuesOptions) : child,
  );
  return { ...copy, children: injectedChildren };
}

/** BullMQ returns `{ job, children }` in the order of the flow's nodes. */
function matchFlowResult(spans: FlowSpans | undefined, result: unknown): void {
  if (spans === undefined || !isObject(result)) return;
  setJobIdentity(spans.span, readProperty(result, 'job'));
  const children = readProperty(result, 'children');
  if (!Array.isArray(children)) return;
  spans.children.forEach((child, i) => matchFlowResult(child, children[i]));
}

function flowChildren(node: object): object[] {
  const children = readProperty(node, 'children');
  return Array.isArray(children) ? children.filter(isObject) : [];
}

function countNodes(node: object): number {
  return 1 + flowChildren(node).reduce((sum: number, child) => sum + countNodes(child), 0);
}

/** The queue every node of the flows is in, or undefined when they span several. */
function singleQueue(flows: readonly object[]): string | undefined {
  const queues = new Set<string>();
  const collect = (node: object): void => {
    const queueName = readString(node, 'queueName');
    if (queueName !== undefined) queues.add(queueName);
    flowChildren(node).forEach(collect);
  };
  flows.forEach(collect);
  return queues.size === 1 ? queues.values().next().value : undefined;
}
