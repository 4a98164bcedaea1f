import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { DefaultJobOptions } from 'bullmq';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { configureInstrumentation, ledgerSpans, memoryExporter, provider, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

function byJobId(spans: ReadableSpan[], id: string | undefined): ReadableSpan | undefined {
  return spans.find((span) => span.attributes[attr.ATTR_MESSAGING_MESSAGE_ID] === id);
}

function linkedSpanId(span: ReadableSpan | undefined): string | undefined {
  return span?.links[0]?.context.spanId;
}

describe('producer spans and trace context carried in the job', () => {
  const fixture = queueFixtures();

  it('gives Queue.add a PRODUCER send span with the job id, and links the process span to it', async () => {
    const q = fixture('add');
    const job = await q.queue.add('welcome', {});
    q.worker(async () => 'ok');
    const [process] = await waitForProcessSpans(q.name, 1);

    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(send?.name).to.equal(`send ${q.name}`);
    expect(send?.attributes).to.deep.include({
      [attr.ATTR_MESSAGING_SYSTEM]: 'bullmq',
      [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [attr.ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [attr.ATTR_MESSAGING_DESTINATION_NAME]: q.name,
      [attr.ATTR_BULLMQ_JOB_NAME]: 'welcome',
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_JOB_ENQUEUED_AT]: job.timestamp,
    });
    const stored = await q.queue.getJob(job.id ?? '');
    const carrier: unknown = JSON.parse(stored?.opts.telemetry?.metadata ?? '{}');
    const { traceId, spanId } = send?.spanContext() ?? {};
    expect(carrier).to.deep.equal({ traceparent: `00-${traceId}-${spanId}-01` });
    expect(linkedSpanId(process)).to.equal(spanId);
    expect(process?.spanContext().traceId).not.to.equal(traceId); // a new trace per attempt
  });

  it('makes the send span a child of the span active at Queue.add', async () => {
    const q = fixture('add-in-request');
    const request = provider.getTracer('test').startSpan('POST /signup');
    await context.with(trace.setSpan(context.active(), request), () => q.queue.add('welcome', {}));
    request.end();
    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(send?.parentSpanContext?.spanId).to.equal(request.spanContext().spanId);
  });

  it('uses the producer as parent of the process span with producerContext: parent', async () => {
    configureInstrumentation({ producerContext: 'parent' });
    const q = fixture('parent-mode');
    await q.queue.add('j', {});
    q.worker(async () => 'ok');
    const [process] = await waitForProcessSpans(q.name, 1);
    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(process?.parentSpanContext?.spanId).to.equal(send?.spanContext().spanId);
    expect(process?.spanContext().traceId).to.equal(send?.spanContext().traceId);
    expect(process?.links).to.deep.equal([]);
  });

  it('gives Queue.addBulk a CLIENT send span and a PRODUCER create span per job, each job linked to its own', async () => {
    const q = fixture('add-bulk');
    const jobs = await q.queue.addBulk([
      { name: 'a', data: {} },
      { name: 'b', data: {} },
      { name: 'c', data: {}, opts: { priority: 1 } },
    ]);
    q.worker(async () => 'ok');
    const processed = await waitForProcessSpans(q.name, 3);

    const [send] = ledgerSpans(q.name, SpanKind.CLIENT);
    expect(send?.attributes).to.include({
      [attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: 3,
      [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
    });
    const creates = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(creates).to.have.length(3);
    for (const job of jobs) {
      const create = byJobId(creates, job.id);
      expect(create?.name).to.equal(`create ${q.name}`);
      expect(create?.attributes).to.include({
        [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'create',
        [attr.ATTR_BULLMQ_JOB_NAME]: job.name,
      });
      expect(create?.parentSpanContext?.spanId).to.equal(send?.spanContext().spanId);
      expect(linkedSpanId(byJobId(processed, job.id))).to.equal(create?.spanContext().spanId);
    }
    expect((await q.queue.getJob(jobs[2]?.id ?? ''))?.opts.priority).to.equal(1);
  });

  it('gives a flow a create span per job across its queues, and each job carries its own context', async () => {
    const parent = fixture('flow-parent');
    const child = fixture('flow-child');
    const tree = await parent.flowProducer().add({
      name: 'assemble',
      queueName: parent.name,
      children: [
        { name: 'part-1', queueName: child.name, data: {} },
        { name: 'part-2', queueName: child.name, data: {} },
      ],
    });
    child.worker(async () => 'part');
    parent.worker(async () => 'assembled');
    const childSpans = await waitForProcessSpans(child.name, 2);
    const [parentSpan] = await waitForProcessSpans(parent.name, 1);

    const parentCreate = byJobId(ledgerSpans(parent.name, SpanKind.PRODUCER), tree.job.id);
    // The flow spans two queues: its send span is named `send`, without a destination.
    const send = memoryExporter
      .getFinishedSpans()
      .find((span) => span.spanContext().spanId === parentCreate?.parentSpanContext?.spanId);
    expect(send?.name).to.equal('send');
    expect(send?.kind).to.equal(SpanKind.CLIENT);
    expect(send?.attributes).not.to.have.property(attr.ATTR_MESSAGING_DESTINATION_NAME);
    expect(send?.attributes[attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).to.equal(3);
    expect(linkedSpanId(parentSpan)).to.equal(parentCreate?.spanContext().spanId);
    for (const node of tree.children ?? []) {
      const create = byJobId(ledgerSpans(child.name, SpanKind.PRODUCER), node.job.id);
      expect(create?.attributes[attr.ATTR_JOB_ENQUEUED_AT]).to.equal(node.job.timestamp);
      expect(linkedSpanId(byJobId(childSpans, node.job.id))).to.equal(create?.spanContext().spanId);
    }
  });

  it('traces FlowProducer.addBulk with one send span for all flows', async () => {
    const q = fixture('flow-bulk');
    const trees = await q.flowProducer().addBulk([
      { name: 'one', queueName: q.name, children: [{ name: 'one-child', queueName: q.name }] },
      { name: 'two', queueName: q.name },
    ]);
    const sends = ledgerSpans(q.name, SpanKind.CLIENT);
    expect(sends).to.have.length(1);
    expect(sends[0]?.name).to.equal(`send ${q.name}`);
    expect(sends[0]?.attributes[attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).to.equal(3);
    const ids = ledgerSpans(q.name, SpanKind.PRODUCER).map((span) => span.attributes[attr.ATTR_MESSAGING_MESSAGE_ID]);
    const expected = [trees[0]?.job.id, trees[0]?.children?.[0]?.job.id, trees[1]?.job.id];
    expect(ids).to.have.members(expected);
  });

  it('injects no context when the job asks for omitContext, but still traces the add', async () => {
    const q = fixture('omit-context');
    const job = await q.queue.add('j', {}, { telemetry: { omitContext: true } });
    q.worker(async () => 'ok');
    const [process] = await waitForProcessSpans(q.name, 1);
    expect((await q.queue.getJob(job.id ?? ''))?.opts.telemetry?.metadata).to.equal(undefined);
    expect(ledgerSpans(q.name, SpanKind.PRODUCER)).to.have.length(1);
    expect(process?.links).to.deep.equal([]);
  });

  it("keeps the caller's own metadata and links to the context it names", async () => {
    const q = fixture('caller-metadata');
    const foreign = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const metadata = JSON.stringify({ traceparent: foreign });
    const job = await q.queue.add('j', {}, { telemetry: { metadata } });
    q.worker(async () => 'ok');
    const [process] = await waitForProcessSpans(q.name, 1);
    expect((await q.queue.getJob(job.id ?? ''))?.opts.telemetry?.metadata).to.equal(metadata);
    expect(process?.links[0]?.context).to.include({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
  });

  it('processes jobs with malformed or foreign metadata normally, without a link', async () => {
    const q = fixture('malformed');
    const bad = ['not json{', '[]', '{"traceparent":5}', '{"uber-trace-id":"abc"}', '"string"'];
    for (const metadata of bad) await q.queue.add('j', {}, { telemetry: { metadata } });
    q.worker(async () => 'ok');
    const spans = await waitForProcessSpans(q.name, bad.length);
    expect(spans.map((span) => span.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(bad.map(() => 'completed'));
    expect(spans.flatMap((span) => span.links)).to.deep.equal([]);
  });

  it('makes spans created by the processor children of the process span', async () => {
    const q = fixture('children');
    await q.queue.add('j', {});
    q.worker(async () => {
      provider.getTracer('test').startSpan(`db query ${q.name}`).end();
      return 'ok';
    });
    const [process] = await waitForProcessSpans(q.name, 1);
    const child = memoryExporter.getFinishedSpans().find((span) => span.name === `db query ${q.name}`);
    expect(child?.parentSpanContext?.spanId).to.equal(process?.spanContext().spanId);
  });

  it('links every job of FlowProducer.addBulk to its own create span', async () => {
    const q = fixture('flow-bulk-links');
    const trees = await q.flowProducer().addBulk([
      { name: 'one', queueName: q.name, children: [{ name: 'one-child', queueName: q.name }] },
      { name: 'two', queueName: q.name },
    ]);
    q.worker(async () => 'ok');
    const processed = await waitForProcessSpans(q.name, 3);
    const creates = ledgerSpans(q.name, SpanKind.PRODUCER);
    for (const id of [trees[0]?.job.id, trees[0]?.children?.[0]?.job.id, trees[1]?.job.id]) {
      expect(linkedSpanId(byJobId(processed, id)), `job ${id}`).to.equal(byJobId(creates, id)?.spanContext().spanId);
    }
  });

  it('records the parent key of a flow child on its process span', async () => {
    const parent = fixture('parent-key-parent');
    const child = fixture('parent-key-child');
    const tree = await parent.flowProducer().add({
      name: 'parent',
      queueName: parent.name,
      children: [{ name: 'child', queueName: child.name }],
    });
    child.worker(async () => 'ok');
    const [span] = await waitForProcessSpans(child.name, 1);
    expect(span?.attributes[attr.ATTR_JOB_PARENT_KEY]).to.equal(`bull:${parent.name}:${tree.job.id}`);
  });

  it('honours omitContext and caller metadata per job in addBulk and in flows', async () => {
    const q = fixture('bulk-omit');
    const metadata = JSON.stringify({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const [omitted, own, injected] = await q.queue.addBulk([
      { name: 'omit', data: {}, opts: { telemetry: { omitContext: true } } },
      { name: 'own', data: {}, opts: { telemetry: { metadata } } },
      { name: 'plain', data: {} },
    ]);
    const tree = await q.flowProducer().add({
      name: 'flow-parent',
      queueName: q.name,
      opts: { telemetry: { omitContext: true } },
      children: [{ name: 'flow-child', queueName: q.name }],
    });
    const stored = async (id: string | undefined) => (await q.queue.getJob(id ?? ''))?.opts.telemetry?.metadata;
    expect(await stored(omitted?.id)).to.equal(undefined);
    expect(await stored(own?.id)).to.equal(metadata);
    expect(await stored(injected?.id)).to.match(/traceparent/);
    expect(await stored(tree.job.id)).to.equal(undefined);
    expect(await stored(tree.children?.[0]?.job.id)).to.match(/traceparent/);
  });

  it("honours omitContext set in the queue's defaultJobOptions", async () => {
    // BullMQ's types leave telemetry out of DefaultJobOptions, but BullMQ merges it into every job.
    const defaultJobOptions: DefaultJobOptions = { attempts: 2 };
    Object.assign(defaultJobOptions, { telemetry: { omitContext: true } });
    const q = fixture('default-omit', { defaultJobOptions });
    const job = await q.queue.add('j', {});
    const [bulk] = await q.queue.addBulk([{ name: 'b', data: {} }]);
    for (const id of [job.id, bulk?.id]) {
      const stored = await q.queue.getJob(id ?? '');
      expect(stored?.opts.telemetry?.metadata).to.equal(undefined);
      expect(stored?.opts.attempts).to.equal(2);
    }
  });

  it('marks the send span failed and rethrows the same error when BullMQ rejects the add', async () => {
    const q = fixture('add-rejected');
    let thrown: unknown;
    try {
      await q.queue.add('j', {}, { jobId: '0' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(Error);
    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(send?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: (thrown as Error).message });
    expect(send?.attributes[attr.ATTR_ERROR_MESSAGE]).to.equal((thrown as Error).message);
    expect(send?.attributes).not.to.have.property(attr.ATTR_MESSAGING_MESSAGE_ID);
  });
});
