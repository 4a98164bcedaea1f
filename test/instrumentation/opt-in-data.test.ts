import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { configureInstrumentation, ledgerSpans, waitForProcessSpans } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

const SECRET = 'card-4111-1111-1111-1111';

/** Captures diag errors for the current test. */
function captureDiagErrors(): { messages: string[]; restore: () => void } {
  const messages: string[] = [];
  const ignore = (): void => undefined;
  const logger: DiagLogger = {
    error: (...args: unknown[]) => messages.push(args.map(String).join(' ')),
    warn: ignore,
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ERROR, suppressOverrideMessage: true });
  return { messages, restore: () => diag.disable() };
}

describe('process spans: job data and results are opt-in', () => {
  const fixture = queueFixtures();

  it('puts nothing from job.data or the result on any span by default', async () => {
    const q = fixture('private');
    await q.queue.add('pay', { card: SECRET, amount: 10 });
    q.worker(async () => ({ receipt: SECRET }));

    await waitForProcessSpans(q.name, 1);
    const spans = ledgerSpans(q.name);
    expect(spans).to.have.length(2); // send + process
    const everything = JSON.stringify(spans.map((span) => [span.attributes, span.events, span.status]));
    expect(everything).not.to.contain(SECRET);
    expect(everything).not.to.contain('"amount"');
    for (const span of spans) {
      expect(Object.keys(span.attributes).filter((key) => key.startsWith(attr.ATTR_JOB_DATA_PREFIX))).to.deep.equal([]);
      expect(span.attributes).not.to.have.property(attr.ATTR_JOB_RESULT_SUMMARY);
      expect(span.attributes).not.to.have.property(attr.ATTR_JOB_METADATA);
    }
  });

  it('copies allow-listed job.data keys, capped, and nothing else', async () => {
    configureInstrumentation({
      jobDataAttributes: ['tenantId', 'amount', 'note', 'items', 'missing'],
      maxAttributeLength: 64,
    });
    const q = fixture('allow-list');
    await q.queue.add('pay', { tenantId: 't-1', amount: 10, note: 'x'.repeat(200), items: [1, 2], card: SECRET });
    q.worker(async () => 'ok');

    const [span] = await waitForProcessSpans(q.name, 1);
    const dataAttributes = Object.fromEntries(
      Object.entries(span?.attributes ?? {}).filter(([key]) => key.startsWith(attr.ATTR_JOB_DATA_PREFIX)),
    );
    expect(dataAttributes).to.deep.equal({
      [`${attr.ATTR_JOB_DATA_PREFIX}tenantId`]: 't-1',
      [`${attr.ATTR_JOB_DATA_PREFIX}amount`]: 10,
      [`${attr.ATTR_JOB_DATA_PREFIX}note`]: `${'x'.repeat(63)}…`,
      [`${attr.ATTR_JOB_DATA_PREFIX}items`]: '[1,2]',
    });
  });

  it('stores the metadata and resultSummary hooks as capped JSON', async () => {
    configureInstrumentation({
      metadata: (job) => ({ tenant: 'acme', name: job.name }),
      resultSummary: (result, job) => ({ ok: true, kind: typeof result, job: job.name, blob: 'y'.repeat(5000) }),
      maxAttributeLength: 200,
    });
    const q = fixture('hooks');
    await q.queue.add('export', {});
    q.worker(async () => 'done');

    const [span] = await waitForProcessSpans(q.name, 1);
    expect(span?.attributes[attr.ATTR_JOB_METADATA]).to.equal('{"tenant":"acme","name":"export"}');
    const summary = String(span?.attributes[attr.ATTR_JOB_RESULT_SUMMARY]);
    expect(summary.length).to.be.at.most(200);
    expect(JSON.parse(summary)).to.include({ truncated: true });
  });

  it('ignores hooks that throw, logs them through diag, and the job still completes', async () => {
    const captured = captureDiagErrors();
    try {
      configureInstrumentation({
        metadata: () => {
          throw new Error('metadata hook bug');
        },
        resultSummary: () => {
          throw new Error('summary hook bug');
        },
      });
      const q = fixture('throwing-hooks');
      const job = await q.queue.add('j', {});
      q.worker(async () => 'fine');

      const [span] = await waitForProcessSpans(q.name, 1);
      expect(span?.attributes[attr.ATTR_ATTEMPT_OUTCOME]).to.equal('completed');
      expect(span?.attributes).not.to.have.property(attr.ATTR_JOB_METADATA);
      expect(span?.attributes).not.to.have.property(attr.ATTR_JOB_RESULT_SUMMARY);
      expect((await q.queue.getJob(job.id ?? ''))?.returnvalue).to.equal('fine');
      expect(captured.messages.join('\n')).to.contain('metadata hook threw').and.to.contain('resultSummary hook threw');
    } finally {
      captured.restore();
    }
  });

  it('ignores a hook that returns a Promise, and says so', async () => {
    const captured = captureDiagErrors();
    try {
      configureInstrumentation({ metadata: async () => ({ late: true }) });
      const q = fixture('async-hook');
      await q.queue.add('j', {});
      q.worker(async () => 'ok');
      const [span] = await waitForProcessSpans(q.name, 1);
      expect(span?.attributes).not.to.have.property(attr.ATTR_JOB_METADATA);
      expect(captured.messages.join('\n')).to.contain('metadata hook must return a value synchronously');
    } finally {
      captured.restore();
    }
  });

  it('caps error messages and stacks at the configured lengths', async () => {
    configureInstrumentation({ maxErrorMessageLength: 64, maxErrorStackLength: 200 });
    const q = fixture('error-caps');
    await q.queue.add('j', {});
    q.worker(async () => {
      throw new Error(`upstream said: ${'e'.repeat(5000)}`);
    });
    const [span] = await waitForProcessSpans(q.name, 1);
    expect(String(span?.attributes[attr.ATTR_ERROR_MESSAGE])).to.have.length(64);
    expect(String(span?.attributes[attr.ATTR_ERROR_STACK]).length).to.be.at.most(200);
    expect(span?.status.message).to.have.length(64);
  });
});
