import { propagation, trace } from '@opentelemetry/api';
import type { TextMapPropagator, Tracer, TracerProvider } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { expect } from 'chai';
import { instrumentation, ledgerSpans, provider } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

/** A tracer provider whose tracers throw on every call: a broken SDK must not break BullMQ. */
const brokenProvider: TracerProvider = {
  getTracer(): Tracer {
    const fail = (): never => {
      throw new Error('broken tracer');
    };
    return { startSpan: fail, startActiveSpan: fail };
  },
};

/** A propagator whose inject throws. */
const brokenPropagator: TextMapPropagator = {
  inject() {
    throw new Error('broken propagator');
  },
  extract: (ctx) => ctx,
  fields: () => [],
};

describe('the host application is never hurt', () => {
  const fixture = queueFixtures();

  afterEach(() => {
    instrumentation.setTracerProvider(provider);
    propagation.disable();
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });

  it('processes jobs and adds them normally when the tracer throws', async () => {
    instrumentation.setTracerProvider(brokenProvider);
    const q = fixture('broken-tracer');
    const results: unknown[] = [];
    const worker = q.worker(async (job) => {
      if (job.attemptsMade === 0) throw new Error('retry me');
      return { ok: job.name };
    });
    worker.on('completed', (_job, result) => results.push(result));
    const job = await q.queue.add('j', {}, { attempts: 2 });
    const [bulk] = await q.queue.addBulk([{ name: 'b', data: {}, opts: { attempts: 2 } }]);

    await waitFor(() => results.length === 2, { what: 'both jobs to complete' });
    expect(results).to.have.deep.members([{ ok: 'j' }, { ok: 'b' }]);
    expect((await q.queue.getJob(job.id ?? ''))?.attemptsMade).to.equal(2);
    expect(bulk?.id).to.be.a('string');
    expect(ledgerSpans(q.name)).to.deep.equal([]);
  });

  it('adds jobs untraced, with their own options, when the propagator throws', async () => {
    propagation.disable();
    propagation.setGlobalPropagator(brokenPropagator);
    const q = fixture('broken-propagator');
    const active = trace.getTracer('test').startSpan('request');
    const job = await q.queue.add('j', { n: 1 }, { attempts: 3 });
    active.end();
    const stored = await q.queue.getJob(job.id ?? '');
    expect(stored?.opts.attempts).to.equal(3);
    expect(stored?.data).to.deep.equal({ n: 1 });
    // The spans started before the failure were ended, not left open.
    expect(ledgerSpans(q.name).every((span) => span.ended)).to.equal(true);
  });
});
