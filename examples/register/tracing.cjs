// @ts-check
// Tracing for a CommonJS application, loaded before the application:
//
//   node -r ./tracing.cjs app.cjs
//
// Spans of finished jobs are printed as JSON lines; a real application would
// keep its own exporter here (OTLP, Jaeger...) and add the ledger (examples/with-otlp).
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BullMQInstrumentation } = require('bullmq-ledger');

/** @type {import('@opentelemetry/sdk-trace-base').SpanExporter} */
const printJobSpans = {
  export(spans, done) {
    for (const span of spans) {
      process.stdout.write(
        `${JSON.stringify({ name: span.name, kind: span.kind, scope: span.instrumentationScope.name, attributes: span.attributes })}\n`,
      );
    }
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};

const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(printJobSpans)] });
provider.register();
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });

module.exports = { provider };
