import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { bullmq, features, itWithFeature } from '../helpers/bullmq';
import { processSpans, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { holdUntilStalled } from '../helpers/stall';

describe('process spans: stalled jobs', () => {
  const fixture = queueFixtures();

  async function stallOnce() {
    const q = fixture('stalled');
    const { job, release } = await holdUntilStalled(q);
    const [failedByBullMQ] = await waitForProcessSpans(q.name, 1);
    release();
    const [, notRecorded] = await waitForProcessSpans(q.name, 2);
    return { q, job, failedByBullMQ, notRecorded };
  }

  it('records the attempt BullMQ fails because the job stalled too often as a final failure', async () => {
    const { q, job, failedByBullMQ } = await stallOnce();
    // BullMQ 5.0 fails the job in its stalled checker with a plain Error; later
    // versions fail it with an UnrecoverableError when a worker next picks it up.
    const byChecker = features.stalledFailedByChecker;
    expect(failedByBullMQ?.attributes).to.include({
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_JOB_ATTEMPTS_STARTED]: byChecker ? 1 : 2,
      [attr.ATTR_ERROR_TYPE]: byChecker ? 'Error' : 'UnrecoverableError',
      [attr.ATTR_ERROR_MESSAGE]: 'job stalled more than allowable limit',
    });
    expect(failedByBullMQ?.attributes[attr.ATTR_BULLMQ_JOB_ATTEMPTS_MADE]).to.be.a('number');
    expect(failedByBullMQ?.status.code).to.equal(SpanStatusCode.ERROR);
    expect(await q.queue.getJobState(job.id ?? '')).to.equal('failed');
  });

  it('marks the attempt that lost its lock as stalled, not as a completion', async () => {
    const { job, notRecorded } = await stallOnce();
    expect(notRecorded?.attributes).to.include({
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'stalled',
      [attr.ATTR_ATTEMPT_FINAL]: false,
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_JOB_ATTEMPTS_STARTED]: 1,
    });
    expect(notRecorded?.status.code).to.equal(SpanStatusCode.ERROR);
    expect(notRecorded?.status.message).to.match(/^attempt not recorded by BullMQ: .*lock/i);
    expect(notRecorded?.attributes).not.to.have.property(attr.ATTR_JOB_RESULT_SUMMARY);
  });

  it('keeps both attempts of the job as separate spans', async () => {
    const { q } = await stallOnce();
    const spans = processSpans(q.name);
    expect(spans).to.have.length(2);
    expect(spans[0]?.spanContext().spanId).not.to.equal(spans[1]?.spanContext().spanId);
  });

  itWithFeature(
    features.rateLimitMoveChecksLock,
    'marks a rate-limited attempt whose job BullMQ could no longer move back as stalled',
    async () => {
      const q = fixture('rate-limit-lost-lock');
      await q.queue.add('api-call', {});
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let runs = 0;
      const worker = q.worker(
        async () => {
          runs += 1;
          if (runs > 1) return 'second run';
          await held;
          throw bullmq.Worker.RateLimitError();
        },
        { lockDuration: 200, skipLockRenewal: true, stalledInterval: 100, maxStalledCount: 5, concurrency: 2 },
      );
      // The stalled checker takes the job back while the first run still holds it; the second run completes it.
      const [completed] = await waitForProcessSpans(q.name, 1);
      expect(completed?.attributes[attr.ATTR_ATTEMPT_OUTCOME]).to.equal('completed');
      release();
      const [, lateRateLimit] = await waitForProcessSpans(q.name, 2);
      expect(lateRateLimit?.attributes[attr.ATTR_ATTEMPT_OUTCOME]).to.equal('stalled');
      expect(lateRateLimit?.status.code).to.equal(SpanStatusCode.ERROR);
      expect(worker.isRunning()).to.equal(true);
    },
  );
});
