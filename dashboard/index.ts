/**
 * `bullmq-ledger/dashboard`: the ledger in a web page, as a plain node:http
 * handler (http.createServer, Express, Connect; Fastify and Koa in a few lines).
 */
export { createLedgerDashboard } from './handler';
export type { LedgerDashboard, NextFunction } from './handler';
export type {
  DashboardAction,
  LedgerDashboardOptions,
  RedactableJob,
  RetryableJob,
  RetryableQueue,
  TraceIds,
  ViewName,
} from './options';
