import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { bullmq, features, itWithFeature } from '../helpers/bullmq';
import { waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

/** BullMQ's control-flow errors move the job elsewhere; they are not failures. */
function expectControlFlow(span: ReadableSpan | undefined, outcome: string): void {
  expect(span?.attributes).to.include({
    [attr.ATTR_ATTEMPT_OUTCOME]: outcome,
    [attr.ATTR_ATTEMPT_FINAL]: false,
    [attr.ATTR_ATTEMPT_NUMBER]: 1,
  });
  expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
  expect(span?.attributes).not.to.have.property(attr.ATTR_ERROR_TYPE);
  expect(span?.events.filter((event) => event.name === 'exception')).to.deep.equal([]);
}

function expectCompletedAfter(span: ReadableSpan | undefined): void {
  expect(span?.attributes).to.include({
    [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
    [attr.ATTR_ATTEMPT_FINAL]: true,
    // A control-flow error is not a recorded attempt: the next run is still attempt 1.
    [attr.ATTR_ATTEMPT_NUMBER]: 1,
  });
}

describe('process spans: control-flow errors are not failures', () => {
  const fixture = queueFixtures();

  it('records DelayedError as delayed, then the resumed run', async () => {
    const q = fixture('delayed');
    await q.queue.add('poll', {});
    q.worker(async (job, token) => {
      if ((job.attemptsStarted ?? 0) > 1) return 'done';
      await job.moveToDelayed(Date.now() + 20, token);
      throw new bullmq.DelayedError();
    });

    const [first, second] = await waitForProcessSpans(q.name, 2);
    expectControlFlow(first, 'delayed');
    expectCompletedAfter(second);
    expect(second?.attributes[attr.ATTR_JOB_ATTEMPTS_STARTED]).to.equal(2);
  });

  itWithFeature(features.waitingError, 'records WaitingError as waiting', async () => {
    const q = fixture('waiting');
    await q.queue.add('reschedule', {});
    q.worker(async (job, token) => {
      if ((job.attemptsStarted ?? 0) > 1) return 'done';
      await job.moveToWait(token);
      throw new bullmq.WaitingError();
    });

    const [first, second] = await waitForProcessSpans(q.name, 2);
    expectControlFlow(first, 'waiting');
    expectCompletedAfter(second);
  });

  it('records WaitingChildrenError as waiting-children, then the parent completes', async () => {
    const parent = fixture('parent');
    const child = fixture('child');
    await parent.queue.add('parent-job', {});
    parent.worker(async (job, token) => {
      if ((job.attemptsStarted ?? 0) === 1) {
        // Delayed so that it is still pending when the parent starts waiting.
        const parentRef = { id: job.id ?? '', queue: job.queueQualifiedName };
        await child.queue.add('child-job', {}, { parent: parentRef, delay: 100 });
        if (token !== undefined && (await job.moveToWaitingChildren(token))) {
          throw new bullmq.WaitingChildrenError();
        }
      }
      return 'all children done';
    });
    child.worker(async () => 'child done');

    const [first, second] = await waitForProcessSpans(parent.name, 2);
    expectControlFlow(first, 'waiting-children');
    expectCompletedAfter(second);
  });

  it('records a rate-limit error as rate-limited', async () => {
    const q = fixture('rate-limited');
    await q.queue.add('api-call', {});
    const worker = q.worker(
      async (job) => {
        if ((job.attemptsStarted ?? 0) > 1) return 'done';
        // Queue.rateLimit replaced Worker.rateLimit; BullMQ 5.0 has only the latter.
        await (typeof Reflect.get(q.queue, 'rateLimit') === 'function' ? q.queue.rateLimit(20) : worker.rateLimit(20));
        throw bullmq.Worker.RateLimitError();
      },
      { limiter: { max: 100, duration: 1000 } },
    );

    const [first, second] = await waitForProcessSpans(q.name, 2);
    expectControlFlow(first, 'rate-limited');
    expectCompletedAfter(second);
  });
});
