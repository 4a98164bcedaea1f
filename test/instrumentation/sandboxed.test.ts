import path from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { configureInstrumentation, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

describe('process spans: sandboxed processors', () => {
  const fixture = queueFixtures();

  it('records a sandboxed failure by its error name, then the successful retry with its result', async () => {
    configureInstrumentation({ resultSummary: (result) => result });
    const q = fixture('sandboxed');
    const job = await q.queue.add('charge', { amount: 125 }, { attempts: 2 });
    q.worker(path.join(__dirname, '../fixtures/sandboxed-processor.js'));

    const [failed, completed] = await waitForProcessSpans(q.name, 2, 20_000);
    expect(failed?.attributes).to.include({
      [attr.ATTR_MESSAGING_MESSAGE_ID]: job.id,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'retry',
      [attr.ATTR_ERROR_TYPE]: 'PaymentError',
      [attr.ATTR_ERROR_MESSAGE]: 'gateway timeout',
    });
    expect(failed?.status.code).to.equal(SpanStatusCode.ERROR);
    expect(String(failed?.attributes[attr.ATTR_ERROR_STACK])).to.contain('sandboxed-processor.js');
    expect(completed?.attributes).to.include({
      [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
      [attr.ATTR_ATTEMPT_NUMBER]: 2,
      [attr.ATTR_JOB_RESULT_SUMMARY]: '{"charged":125}',
    });
  });
});
