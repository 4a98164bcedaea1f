import { SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { bullmq } from '../helpers/bullmq';
import { waitForProcessSpans } from '../helpers/otel';
import { DATABASE_URL, dropSchema, uniqueSchema } from '../helpers/postgres';
import { uniqueName } from '../helpers/queues';

describe("BullMQ's PostgreSQL backend", () => {
  const schema = uniqueSchema('bullmq');
  const name = uniqueName('pg');
  const connection = { connectionString: DATABASE_URL, schema, migrate: true };
  const { Queue, Worker } = bullmq.withBackend(bullmq.createPostgresBackend);
  let queue: InstanceType<typeof Queue>;
  let worker: InstanceType<typeof Worker>;

  before(() => {
    queue = new Queue(name, { connection });
    worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'doomed' || job.attemptsMade === 0) throw new Error(`${job.name} failed`);
        return 'ok';
      },
      { connection, autorun: false },
    );
  });

  after(async () => {
    await worker.close();
    await queue.close();
    await dropSchema(schema);
  });

  it('records retries and the final outcome from what the PostgreSQL backend did', async () => {
    const flaky = await queue.add('flaky', {}, { attempts: 2 });
    const doomed = await queue.add('doomed', {}, { attempts: 2 });
    void worker.run();

    const spans = await waitForProcessSpans(name, 4, 20_000);
    const outcomes = (id: string | undefined) =>
      spans
        .filter((span) => span.attributes[attr.ATTR_MESSAGING_MESSAGE_ID] === id)
        .map((span) => [
          span.attributes[attr.ATTR_ATTEMPT_NUMBER],
          span.attributes[attr.ATTR_ATTEMPT_OUTCOME],
          span.attributes[attr.ATTR_ATTEMPT_FINAL],
        ]);
    expect(outcomes(flaky.id)).to.deep.equal([
      [1, 'retry', false],
      [2, 'completed', true],
    ]);
    expect(outcomes(doomed.id)).to.deep.equal([
      [1, 'retry', false],
      [2, 'failed', true],
    ]);
    expect(spans.filter((span) => span.status.code === SpanStatusCode.ERROR)).to.have.length(3);
    expect(await queue.getJobState(doomed.id ?? '')).to.equal('failed');
  });
});
