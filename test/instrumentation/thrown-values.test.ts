import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

describe('process spans: values thrown that are not Errors', () => {
  const fixture = queueFixtures();

  it('records a thrown string as a failure with the string as message', async () => {
    const q = fixture('throw-string');
    await q.queue.add('j', {});
    q.worker(async () => {
      throw 'quota exceeded'; // eslint-disable-line @typescript-eslint/only-throw-error
    });

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({
      [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
      [attr.ATTR_ERROR_TYPE]: '_OTHER',
      [attr.ATTR_ERROR_MESSAGE]: 'quota exceeded',
    });
    expect(span?.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'quota exceeded' });
  });

  it('records a thrown plain object as JSON', async () => {
    const q = fixture('throw-object');
    await q.queue.add('j', {});
    q.worker(async () => {
      throw { code: 'E_LIMIT', retryAfter: 30 }; // eslint-disable-line @typescript-eslint/only-throw-error
    });

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({
      [attr.ATTR_ATTEMPT_OUTCOME]: 'failed',
      [attr.ATTR_ERROR_TYPE]: '_OTHER',
      [attr.ATTR_ERROR_MESSAGE]: '{"code":"E_LIMIT","retryAfter":30}',
    });
  });

  it('records a thrown undefined, which BullMQ cannot record, as stalled, and the worker goes on', async () => {
    const q = fixture('throw-undefined');
    await q.queue.add('bad', {});
    await q.queue.add('good', {});
    q.worker(async (job) => {
      if (job.name === 'bad') throw undefined; // eslint-disable-line @typescript-eslint/only-throw-error
      return 'ok';
    });

    const spans = await waitForProcessSpans(q.name, 2);
    const bad = spans.find((span) => span.attributes[attr.ATTR_BULLMQ_JOB_NAME] === 'bad');
    const good = spans.find((span) => span.attributes[attr.ATTR_BULLMQ_JOB_NAME] === 'good');
    // BullMQ's handleFailed reads err.message and throws on undefined: the job stays active.
    expect(bad?.attributes).to.include({
      [attr.ATTR_ATTEMPT_OUTCOME]: 'stalled',
      [attr.ATTR_ERROR_TYPE]: '_OTHER',
      [attr.ATTR_ERROR_MESSAGE]: 'undefined',
    });
    expect(good?.attributes[attr.ATTR_ATTEMPT_OUTCOME]).to.equal('completed');
  });

  it('records a circular result that BullMQ cannot store as the failure BullMQ records', async () => {
    const q = fixture('circular-result');
    await q.queue.add('j', {});
    q.worker(async () => {
      const result: { self?: unknown } = {};
      result.self = result;
      return result;
    });

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes).to.include({ [attr.ATTR_ATTEMPT_OUTCOME]: 'failed', [attr.ATTR_ERROR_TYPE]: 'TypeError' });
    expect(String(span?.attributes[attr.ATTR_ERROR_MESSAGE])).to.match(/circular/i);
  });
});
