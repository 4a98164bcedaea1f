import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { bullmq, features, isBullMQ6, itWithFeature } from '../helpers/bullmq';
import { processSpans, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

describe('process spans: one per attempt, with the outcome BullMQ recorded', () => {
  const fixture = queueFixtures();

  it('records a successful attempt as completed and final', async () => {
    const q = fixture('success');
    const job = await q.queue.add('send-email', { to: 'a@example.com' });
    q.worker(async () => 'sent');

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.name).to.equal(`process ${q.name}`);
    expect(span?.kind).to.equal(SpanKind.CONSUMER);
    expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
    expect(span?.attributes).to.include({
      [attr.ATTR_MESSAGING_SYSTEM]: 'bullmq',
      [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [attr.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [attr.ATTR_MESSAGING_DESTINATION_NAME]: q.name,
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_BULLMQ_JOB_NAME]: 'send-email',
      [attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]: 1,
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_JOB_ATTEMPTS_MAX]: 1,
      [attr.ATTR_JOB_ATTEMPTS_STARTED]: 1,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
      [attr.ATTR_JOB_ENQUEUED_AT]: job.timestamp,
    });
    expect(span?.attributes).not.to.have.property(attr.ATTR_ERROR_TYPE);
    const wait = span?.attributes[attr.ATTR_JOB_QUEUE_WAIT_MS];
    expect(wait).to.be.a('number').and.to.be.at.least(0).and.below(10_000);
    const duration = span?.attributes[attr.ATTR_ATTEMPT_DURATION_MS];
    const spanDurationMs = (span?.duration[0] ?? 0) * 1e3 + (span?.duration[1] ?? 0) / 1e6;
    expect(duration).to.be.a('number');
    expect(Math.abs(Number(duration) - spanDurationMs)).to.be.below(0.01);
  });

  it('ends the span only after BullMQ has moved the job', async () => {
    const q = fixture('after-move');
    const job = await q.queue.add('j', {});
    q.worker(async () => 'ok');
    await waitForProcessSpans(q.name, 1);
    // The span ended after moveToCompleted resolved, so the job is already completed.
    expect(await q.queue.getJobState(job.id ?? '')).to.equal('completed');
  });

  it('records a failure then a success with attempts: 3 as retry then completed', async () => {
    const q = fixture('retry-then-success');
    const job = await q.queue.add('charge', {}, { attempts: 3 });
    q.worker(async (active) => {
      if (active.attemptsMade === 0) throw new TypeError('card declined');
      return 'charged';
    });

    const [first, second] = await waitForProcessSpans(q.name, 2);
    expect(first?.attributes).to.include({
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_JOB_ATTEMPTS_MAX]: 3,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'retry',
      [attr.ATTR_ATTEMPT_FINAL]: false,
      [attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]: 1,
      [attr.ATTR_ERROR_TYPE]: 'TypeError',
      [attr.ATTR_ERROR_MESSAGE]: 'card declined',
    });
    expect(first?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'card declined' });
    expect(String(first?.attributes[attr.ATTR_ERROR_STACK])).to.match(/^TypeError: card declined\n\s+at /);
    const exception = first?.events.find((event) => event.name === 'exception');
    expect(exception?.attributes).to.include({ 'exception.type': 'TypeError', 'exception.message': 'card declined' });

    expect(second?.attributes).to.include({
      [attr.ATTR_ATTEMPT_NUMBER]: 2,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
      [attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]: 2,
    });
    expect(second?.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('records the last of three failing attempts as the final failure', async () => {
    const q = fixture('final-failure');
    await q.queue.add('sync', {}, { attempts: 3, backoff: { type: 'fixed', delay: 10 } });
    q.worker(async () => {
      throw new Error('upstream down');
    });

    const spans = await waitForProcessSpans(q.name, 3);
    expect(spans.map((s) => s.attributes[attr.ATTR_ATTEMPT_NUMBER])).to.deep.equal([1, 2, 3]);
    expect(spans.map((s) => s.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(['retry', 'retry', 'failed']);
    expect(spans.map((s) => s.attributes[attr.ATTR_ATTEMPT_FINAL])).to.deep.equal([false, false, true]);
    expect(spans.every((s) => s.status.code === SpanStatusCode.ERROR)).to.equal(true);
  });

  it('records an UnrecoverableError on the first of three attempts as final', async () => {
    const q = fixture('unrecoverable');
    const job = await q.queue.add('import', {}, { attempts: 3 });
    q.worker(async () => {
      throw new bullmq.UnrecoverableError('bad input file');
    });

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
      [attr.ATTR_ERROR_TYPE]: 'UnrecoverableError',
    });
    expect(await q.queue.getJobState(job.id ?? '')).to.equal('failed');
  });

  it('records a failure whose backoff strategy returns -1 as final', async () => {
    const q = fixture('backoff-stop');
    await q.queue.add('call', {}, { attempts: 5, backoff: { type: 'stop-now' } });
    q.worker(
      async () => {
        throw new Error('do not retry');
      },
      { settings: { backoffStrategy: () => -1 } },
    );

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({ [attr.ATTR_ATTEMPT_OUTCOME]: 'failed', [attr.ATTR_ATTEMPT_FINAL]: true });
  });

  itWithFeature(
    features.maxStartedAttempts,
    'records the failure BullMQ makes final because of maxStartedAttempts',
    async () => {
      const q = fixture('max-started');
      await q.queue.add('flaky', {}, { attempts: 10, backoff: { type: 'fixed', delay: 10 } });
      q.worker(
        async () => {
          throw new Error('keeps failing');
        },
        { maxStartedAttempts: 2 },
      );

      // BullMQ 6 stops retrying once 2 attempts have started; BullMQ 5 fails the
      // third start without running the processor. The spans follow BullMQ.
      const expected = isBullMQ6 ? ['retry', 'failed'] : ['retry', 'retry', 'failed'];
      const spans = await waitForProcessSpans(q.name, expected.length);
      expect(spans.map((s) => s.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(expected);
      expect(spans.at(-1)?.attributes[attr.ATTR_ATTEMPT_FINAL]).to.equal(true);
    },
  );

  it('leaves return values and worker events unchanged', async () => {
    const q = fixture('unchanged');
    const results: unknown[] = [];
    const failures: string[] = [];
    const worker = q.worker(async (job) => {
      if (job.name === 'bad') throw new Error('nope');
      return { total: 42 };
    });
    worker.on('completed', (_job, result) => results.push(result));
    worker.on('failed', (_job, err) => failures.push(err.message));
    const good = await q.queue.add('good', {});
    await q.queue.add('bad', {});

    await waitForProcessSpans(q.name, 2);
    await waitFor(() => results.length === 1 && failures.length === 1, { what: 'worker events' });
    expect(results).to.deep.equal([{ total: 42 }]);
    expect(failures).to.deep.equal(['nope']);
    expect((await q.queue.getJob(good.id ?? ''))?.returnvalue).to.deep.equal({ total: 42 });
    expect(processSpans(q.name)).to.have.length(2);
  });

  it("keeps a completion recorded even when a 'completed' listener throws afterwards", async () => {
    const q = fixture('throwing-listener');
    const job = await q.queue.add('j', {});
    const worker = q.worker(async () => 'stored');
    worker.on('completed', () => {
      throw new Error('listener bug');
    });

    const [span] = await waitForProcessSpans(q.name, 1);
    // BullMQ stored the result, then the listener's error reached handleFailed, whose move failed.
    expect(await q.queue.getJobState(job.id ?? '')).to.equal('completed');
    expect(span?.attributes).to.include({ [attr.ATTR_ATTEMPT_OUTCOME]: 'completed', [attr.ATTR_ATTEMPT_FINAL]: true });
    expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('marks an attempt cut short by a forced close as stalled, not completed', async () => {
    const q = fixture('forced-close');
    await q.queue.add('j', {});
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const worker = q.worker(async () => {
      started = true;
      await held;
      return 'too late';
    });
    await waitFor(() => started, { what: 'the job to start' });
    await worker.close(true);
    release();

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({ [attr.ATTR_ATTEMPT_OUTCOME]: 'stalled', [attr.ATTR_ATTEMPT_FINAL]: false });
    expect(span?.status.message).to.equal('attempt not recorded by BullMQ: the worker was closing or paused');
  });

  it("records the worker's name", async () => {
    const q = fixture('worker-name');
    await q.queue.add('j', {});
    q.worker(async () => 'ok', { name: 'billing-worker-1' });
    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes[attr.ATTR_BULLMQ_WORKER_NAME]).to.equal('billing-worker-1');
  });
});
