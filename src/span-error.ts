import { SpanStatusCode } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { ATTR_ERROR_MESSAGE, ATTR_ERROR_STACK, ATTR_ERROR_TYPE } from './attributes';
import type { ErrorDetails } from './error-details';

/**
 * Marks `span` failed with `details`: `error.type`, `error.message` and the
 * stack as attributes (what the ledger reads: events can be dropped by span
 * limits), an `exception` event for tracing backends, and status ERROR.
 */
export function recordErrorDetails(span: Span, details: ErrorDetails, statusPrefix = ''): void {
  span.setAttribute(ATTR_ERROR_TYPE, details.type);
  span.setAttribute(ATTR_ERROR_MESSAGE, details.message);
  if (details.stack !== undefined) span.setAttribute(ATTR_ERROR_STACK, details.stack);
  span.recordException({ name: details.type, message: details.message, stack: details.stack });
  span.setStatus({ code: SpanStatusCode.ERROR, message: statusPrefix + details.message });
}
