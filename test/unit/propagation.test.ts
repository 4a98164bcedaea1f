import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { expect } from 'chai';
import { extractProducerContext, withInjectedContext } from '../../src/propagation';
import '../helpers/otel'; // registers the W3C propagator

const spanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
};
const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
const metadata = JSON.stringify({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });

describe('withInjectedContext', () => {
  it("adds the context to a copy of the options, keeping the caller's object and other options", () => {
    const opts = { attempts: 3, telemetry: {} };
    expect(withInjectedContext(opts, ctx)).to.deep.equal({ attempts: 3, telemetry: { metadata } });
    expect(opts).to.deep.equal({ attempts: 3, telemetry: {} });
  });

  it('creates options when there are none', () => {
    expect(withInjectedContext(undefined, ctx)).to.deep.equal({ telemetry: { metadata } });
  });

  it('keeps metadata the caller set, and respects omitContext', () => {
    const own = { telemetry: { metadata: 'mine' } };
    const omit = { telemetry: { omitContext: true } };
    expect(withInjectedContext(own, ctx)).to.equal(own);
    expect(withInjectedContext(omit, ctx)).to.equal(omit);
  });

  it('leaves options alone when there is no span context to carry', () => {
    const opts = { attempts: 1 };
    expect(withInjectedContext(opts, context.active())).to.equal(opts);
  });

  it('leaves malformed options for BullMQ to judge', () => {
    expect(withInjectedContext('weird', ctx)).to.equal('weird');
    const badTelemetry = { telemetry: 'x' };
    expect(withInjectedContext(badTelemetry, ctx)).to.equal(badTelemetry);
  });
});

describe('extractProducerContext', () => {
  it('reads the W3C carrier BullMQ and this package write', () => {
    expect(extractProducerContext({ telemetry: { metadata } })).to.deep.include({
      traceId: spanContext.traceId,
      spanId: spanContext.spanId,
      isRemote: true,
    });
  });

  it('returns undefined for anything else, without throwing', () => {
    for (const opts of [
      undefined,
      null,
      {},
      { telemetry: null },
      { telemetry: { metadata: 5 } },
      { telemetry: { metadata: '{' } },
      { telemetry: { metadata: '["a"]' } },
      { telemetry: { metadata: '{"traceparent":"00-zz"}' } },
    ]) {
      expect(extractProducerContext(opts), JSON.stringify(opts)).to.equal(undefined);
    }
  });
});
