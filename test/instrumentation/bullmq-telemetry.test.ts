import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { BullMQOtel } from 'bullmq-otel';
import * as attr from '../../src/attributes';
import { instrumentation, ledgerSpans, memoryExporter, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

const NATIVE_SCOPE = 'bullmq-native';

function nativeSpans(queue: string, kind: SpanKind): ReadableSpan[] {
  return memoryExporter
    .getFinishedSpans()
    .filter(
      (span) => span.instrumentationScope.name === NATIVE_SCOPE && span.kind === kind && span.name.includes(queue),
    );
}

describe("alongside BullMQ's own telemetry option (bullmq-otel)", () => {
  const fixture = queueFixtures();
  const telemetry = new BullMQOtel({ tracerName: NATIVE_SCOPE });

  afterEach(() => instrumentation.enable());

  it("keeps one ledger span per attempt next to BullMQ's own spans, in the same trace as the add", async () => {
    const q = fixture('native-both', { telemetry });
    await q.queue.add('j', {}, { attempts: 2 });
    let runs = 0;
    q.worker(
      async () => {
        runs += 1;
        if (runs === 1) throw new Error('first try fails');
        return 'ok';
      },
      { telemetry },
    );

    const [retry, completed] = await waitForProcessSpans(q.name, 2);
    expect([retry, completed].map((span) => span?.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal([
      'retry',
      'completed',
    ]);
    expect(nativeSpans(q.name, SpanKind.CONSUMER)).to.have.length(2);
    // BullMQ's Queue.add writes its own context (its add span, a child of our send span) into the job.
    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    expect(retry?.links[0]?.context.traceId).to.equal(send?.spanContext().traceId);
  });

  it('links to the context of a job added by bullmq-otel alone', async () => {
    const q = fixture('native-producer', { telemetry });
    instrumentation.disable();
    await q.queue.add('j', {});
    instrumentation.enable();
    q.worker(async () => 'ok');

    const [process] = await waitForProcessSpans(q.name, 1);
    const [nativeAdd] = nativeSpans(q.name, SpanKind.PRODUCER);
    expect(nativeAdd).not.to.equal(undefined);
    expect(process?.links[0]?.context.spanId).to.equal(nativeAdd?.spanContext().spanId);
  });

  it("lets BullMQ's own consumer span continue the trace of a job added by this package", async () => {
    const q = fixture('native-consumer');
    await q.queue.add('j', {});
    q.worker(async () => 'ok', { telemetry });

    await waitForProcessSpans(q.name, 1);
    const [send] = ledgerSpans(q.name, SpanKind.PRODUCER);
    const [nativeProcess] = nativeSpans(q.name, SpanKind.CONSUMER);
    expect(nativeProcess?.parentSpanContext?.spanId).to.equal(send?.spanContext().spanId);
  });
});
