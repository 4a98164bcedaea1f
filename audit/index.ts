/**
 * `bullmq-ledger/audit`: questions to the ledger (typed queries), and
 * reconciliation against what BullMQ still retains.
 */
export { LedgerQueries } from './ledger-queries';
export type {
  JobAttempt,
  JobHistory,
  JobRecord,
  JobSummary,
  QueueStats,
  WindowOptions,
  WorkerStats,
} from './ledger-queries';
export { reconcile } from './reconcile';
export type { ReconcilableQueue, ReconcileOptions, ReconcileResult } from './reconcile';
