import { isWrapped } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import { bullmq } from '../helpers/bullmq';
import { instrumentation, ledgerSpans, processSpans, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

const workerProto = bullmq.Worker.prototype;
const has = (name: string): boolean => typeof Reflect.get(workerProto, name) === 'function';

/** Every method the instrumentation wraps in the BullMQ under test. */
const PATCHED: Array<[string, object, string[]]> = [
  [
    'Worker',
    workerProto,
    // BullMQ 5.0 has no handleFailed method (closures instead), but a notifyFailedJobs.
    ['processJob', 'callProcessJob', ...['handleFailed', 'moveLimitedBackToWait', 'notifyFailedJobs'].filter(has)],
  ],
  ['Job', bullmq.Job.prototype, ['moveToCompleted', 'moveToFailed']],
  ['Queue', bullmq.Queue.prototype, ['add', 'addBulk']],
  ['FlowProducer', bullmq.FlowProducer.prototype, ['add', 'addBulk']],
];

function method(prototype: object, name: string): unknown {
  const value: unknown = Reflect.get(prototype, name);
  return value;
}

describe('disable() and enable()', () => {
  const fixture = queueFixtures();

  afterEach(() => instrumentation.enable());

  it('restores every patched method to the original on disable()', () => {
    const originals = new Map<string, unknown>();
    for (const [cls, prototype, names] of PATCHED) {
      for (const name of names) {
        const wrapped = method(prototype, name);
        expect(isWrapped(wrapped), `${cls}.${name} wrapped`).to.equal(true);
        originals.set(`${cls}.${name}`, Reflect.get(wrapped as object, '__original'));
      }
    }
    instrumentation.disable();
    for (const [cls, prototype, names] of PATCHED) {
      for (const name of names) {
        expect(method(prototype, name), `${cls}.${name} restored`).to.equal(originals.get(`${cls}.${name}`));
      }
    }
  });

  it('produces no spans while disabled, and spans again after enable()', async () => {
    instrumentation.disable();
    const q = fixture('disabled');
    const completed: string[] = [];
    const worker = q.worker(async (job) => job.name);
    worker.on('completed', (job) => completed.push(job.name));
    await q.queue.add('while-disabled', {});
    await waitFor(() => completed.length === 1, { what: 'the untraced job' });
    expect(ledgerSpans(q.name)).to.deep.equal([]);

    instrumentation.enable();
    await q.queue.add('after-enable', {});
    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes['bullmq.job.name']).to.equal('after-enable');
    expect(processSpans(q.name)).to.have.length(1);
  });
});
