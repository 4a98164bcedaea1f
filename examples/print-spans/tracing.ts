/**
 * Process-start tracing setup: a tracer provider whose spans are printed, and
 * the BullMQ instrumentation. Imported before anything loads `bullmq`.
 */
import type { ExportResult } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQInstrumentation, PACKAGE_NAME } from '../../src';
import * as attr from '../../src/attributes';

/** Prints one line per attempt span: the ledger's raw material. */
class PrintAttemptsExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      if (span.instrumentationScope.name !== PACKAGE_NAME) continue;
      const a = span.attributes;
      if (a[attr.ATTR_MESSAGING_OPERATION_TYPE] !== 'process') {
        console.log(`  ${span.name.padEnd(28)} job ${String(a[attr.ATTR_MESSAGING_MESSAGE_ID] ?? '-')}`);
        continue;
      }
      const error = a[attr.ATTR_ERROR_TYPE]
        ? `  ${String(a[attr.ATTR_ERROR_TYPE])}: ${String(a[attr.ATTR_ERROR_MESSAGE])}`
        : '';
      console.log(
        `  ${span.name.padEnd(28)} job ${String(a[attr.ATTR_MESSAGING_MESSAGE_ID]).padEnd(4)} ${String(a[attr.ATTR_BULLMQ_JOB_NAME]).padEnd(12)}` +
          ` attempt ${String(a[attr.ATTR_ATTEMPT_NUMBER])}/${String(a[attr.ATTR_JOB_ATTEMPTS_MAX])}` +
          ` ${String(a[attr.ATTR_ATTEMPT_OUTCOME]).padEnd(9)} final=${String(a[attr.ATTR_ATTEMPT_FINAL]).padEnd(5)}` +
          ` ${Number(a[attr.ATTR_ATTEMPT_DURATION_MS]).toFixed(1).padStart(6)} ms  trace ${span.spanContext().traceId.slice(0, 8)}${error}`,
      );
    }
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {}
}

export const provider = new NodeTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(new PrintAttemptsExporter())],
});
provider.register();
registerInstrumentations({ instrumentations: [new BullMQInstrumentation()], tracerProvider: provider });
