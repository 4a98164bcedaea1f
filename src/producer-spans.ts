/**
 * Spans for adding jobs, following the messaging conventions: a single
 * `Queue.add` is one PRODUCER `send {queue}` span whose context travels in
 * the job; a batch (`Queue.addBulk`, a flow) is one CLIENT `send` span with a
 * PRODUCER `create {queue}` child per job, each job carrying its own create
 * span's context. Every PRODUCER span gets the job's id and enqueue time once
 * BullMQ has assigned them, so the ledger can open a PENDING row per job.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, DiagLogger, Span, Tracer } from '@opentelemetry/api';
import * as attr from './attributes';
import { jobIdOf, queueNameOf } from './bullmq-shapes';
import { errorToDetails } from './error-details';
import { withInjectedContext } from './propagation';
import { isObject, isPromiseLike, readFiniteNumber, readProperty, readString } from './safe-read';

export interface ProducerSpansDeps {
  readonly tracer: () => Tracer;
  readonly diag: DiagLogger;
}

type Call = (args: unknown[]) => unknown;

/** A flow node's create span, shaped like the flow so results can be matched back. */
interface FlowSpans {
  readonly span: Span;
  readonly children: readonly FlowSpans[];
}

const ERROR_LIMITS = { maxMessageLength: 1024, maxStackLength: 4096 } as const;

export class ProducerSpans {
  constructor(private readonly deps: ProducerSpansDeps) {}

  /** `Queue.add(name, data, opts)`. */
  add(queue: unknown, args: unknown[], call: Call): unknown {
    const queueName = queueNameOf(queue) ?? '';
    const span = this.deps.tracer().startSpan(`${attr.OPERATION_SEND} ${queueName}`, {
      kind: SpanKind.PRODUCER,
      attributes: { ...baseAttributes(attr.OPERATION_SEND, queueName), ...jobNameAttribute(args[0]) },
    });
    const ctx = trace.setSpan(context.active(), span);
    const injected = [...args];
    injected[2] = withInjectedContext(args[2], ctx);
    return this.settle(
      [span],
      () => context.with(ctx, () => call(injected)),
      (job) => setJobIdentity(span, job),
    );
  }

  /** `Queue.addBulk(jobs)`. */
  addBulk(queue: unknown, args: unknown[], call: Call): unknown {
    const jobs = args[0];
    if (!Array.isArray(jobs)) return call(args);
    const queueName = queueNameOf(queue) ?? '';
    const { send, ctx } = this.startSend(queueName, jobs.length);
    const creates = jobs.map((job: unknown) => this.startCreate(ctx, queueName, readProperty(job, 'name')));
    const injected = [...args];
    injected[0] = jobs.map((job: unknown, i) => withContextInOpts(job, spanContextOf(ctx, creates[i])));
    return this.settle(
      [...creates, send],
      () => context.with(ctx, () => call(injected)),
      (added) => {
        if (!Array.isArray(added)) return;
        creates.forEach((span, i) => setJobIdentity(span, added[i]));
      },
    );
  }

  /** `FlowProducer.add(flow, opts)`. */
  addFlow(args: unknown[], call: Call): unknown {
    const flow = args[0];
    if (!isObject(flow)) return call(args);
    const queues = new Set<string>();
    collectQueues(flow, queues);
    const { send, ctx } = this.startSend(singleQueue(queues), countNodes(flow));
    const spans = this.startFlowSpans(ctx, flow);
    const injected = [...args];
    injected[0] = withContextInFlow(flow, spans, ctx);
    return this.settle(
      [...allSpans(spans), send],
      () => context.with(ctx, () => call(injected)),
      (tree) => matchFlowResult(spans, tree),
    );
  }

  /** `FlowProducer.addBulk(flows)`. */
  addFlows(args: unknown[], call: Call): unknown {
    const flows = args[0];
    if (!Array.isArray(flows) || !flows.every(isObject)) return call(args);
    const queues = new Set<string>();
    flows.forEach((flow) => collectQueues(flow, queues));
    const total = flows.reduce((sum: number, flow) => sum + countNodes(flow), 0);
    const { send, ctx } = this.startSend(singleQueue(queues), total);
    const spans = flows.map((flow) => this.startFlowSpans(ctx, flow));
    const injected = [...args];
    injected[0] = flows.map((flow, i) => withContextInFlow(flow, spans[i], ctx));
    return this.settle(
      [...spans.flatMap(allSpans), send],
      () => context.with(ctx, () => call(injected)),
      (trees) => {
        if (Array.isArray(trees)) spans.forEach((tree, i) => matchFlowResult(tree, trees[i]));
      },
    );
  }

  private startSend(queueName: string | undefined, count: number): { send: Span; ctx: Context } {
    const attributes = baseAttributes(attr.OPERATION_SEND, queueName);
    attributes[attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = count;
    const name = queueName === undefined ? attr.OPERATION_SEND : `${attr.OPERATION_SEND} ${queueName}`;
    const send = this.deps.tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes });
    return { send, ctx: trace.setSpan(context.active(), send) };
  }

  private startCreate(parent: Context, queueName: string, jobName: unknown): Span {
    return this.deps.tracer().startSpan(
      `${attr.OPERATION_CREATE} ${queueName}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { ...baseAttributes(attr.OPERATION_CREATE, queueName), ...jobNameAttribute(jobName) },
      },
      parent,
    );
  }

  private startFlowSpans(parent: Context, node: object): FlowSpans {
    const queueName = readString(node, 'queueName') ?? '';
    const span = this.startCreate(parent, queueName, readProperty(node, 'name'));
    const children = readProperty(node, 'children');
    return {
      span,
      children: Array.isArray(children)
        ? children.filter(isObject).map((child) => this.startFlowSpans(parent, child))
        : [],
    };
  }

  /**
   * Runs the BullMQ call and ends `spans` when it settles, passing its value
   * through untouched. Errors are BullMQ's and are rethrown as they came.
   */
  private settle(spans: readonly Span[], run: () => unknown, onAdded: (added: unknown) => void): unknown {
    let result: unknown;
    try {
      result = run();
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
          onAdded(added);
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

  private endAll(spans: readonly Span[], failure?: unknown): void {
    for (const span of spans) {
      try {
        if (failure !== undefined) recordError(span, failure);
        span.end();
      } catch (err) {
        this.deps.diag.error('bullmq-ledger: could not end a producer span', err);
      }
    }
  }
}

function baseAttributes(operation: string, queueName: string | undefined): Attributes {
  const attributes: Attributes = {
    [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_BULLMQ,
    [attr.ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [attr.ATTR_MESSAGING_OPERATION_NAME]: operation,
  };
  if (queueName !== undefined) attributes[attr.ATTR_MESSAGING_DESTINATION_NAME] = queueName;
  return attributes;
}

function jobNameAttribute(name: unknown): Attributes {
  return typeof name === 'string' ? { [attr.ATTR_BULLMQ_JOB_NAME]: name } : {};
}

function setJobIdentity(span: Span, job: unknown): void {
  const id = jobIdOf(job);
  if (id !== undefined) span.setAttribute(attr.ATTR_MESSAGING_MESSAGE_ID, id);
  const enqueuedAt = readFiniteNumber(job, 'timestamp');
  if (enqueuedAt !== undefined) span.setAttribute(attr.ATTR_JOB_ENQUEUED_AT, enqueuedAt);
}

function recordError(span: Span, thrown: unknown): void {
  const details = errorToDetails(thrown, ERROR_LIMITS);
  span.setAttribute(attr.ATTR_ERROR_TYPE, details.type);
  span.recordException({ name: details.type, message: details.message, stack: details.stack });
  span.setStatus({ code: SpanStatusCode.ERROR, message: details.message });
}

function spanContextOf(parent: Context, span: Span | undefined): Context {
  return span === undefined ? parent : trace.setSpan(parent, span);
}

/** A copy of a job (or flow node) whose `opts` carry `ctx`; anything else unchanged. */
function withContextInOpts(job: unknown, ctx: Context): unknown {
  if (!isObject(job)) return job;
  const opts = readProperty(job, 'opts');
  const injected = withInjectedContext(opts, ctx);
  return injected === opts ? job : { ...job, opts: injected };
}

function withContextInFlow(node: object, spans: FlowSpans | undefined, parent: Context): unknown {
  if (spans === undefined) return node;
  const copy = withContextInOpts(node, trace.setSpan(parent, spans.span));
  const children = readProperty(node, 'children');
  if (!Array.isArray(children) || !isObject(copy)) return copy;
  let next = 0;
  const injectedChildren = children.map((child: unknown) =>
    isObject(child) ? withContextInFlow(child, spans.children[next++], parent) : child,
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

function allSpans(spans: FlowSpans): Span[] {
  return [spans.span, ...spans.children.flatMap(allSpans)];
}

function collectQueues(node: object, queues: Set<string>): void {
  const queueName = readProperty(node, 'queueName');
  if (typeof queueName === 'string') queues.add(queueName);
  const children = readProperty(node, 'children');
  if (Array.isArray(children)) children.filter(isObject).forEach((child) => collectQueues(child, queues));
}

function countNodes(node: object): number {
  const children = readProperty(node, 'children');
  if (!Array.isArray(children)) return 1;
  return 1 + children.filter(isObject).reduce((sum: number, child) => sum + countNodes(child), 0);
}

function singleQueue(queues: ReadonlySet<string>): string | undefined {
  return queues.size === 1 ? queues.values().next().value : undefined;
}
