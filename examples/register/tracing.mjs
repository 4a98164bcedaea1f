// @ts-check
// Tracing for an ES-module application, loaded before the application:
//
//   node --import ./tracing.mjs app.mjs
//
// BullMQ is a CommonJS package; an `import` of it does not pass through the
// require hook, so the import hook must be registered first.
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
await import('./tracing.cjs');
