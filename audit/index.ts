/**
 * `bullmq-ledger/audit`: questions to the ledger (typed queries), and
 * reconciliation against what BullMQ still retains.
 */
export { LedgerQueries } from './ledger-queries';
export type {
  FailureGroup,
  JobAttempt,
  JobPage,
  JobHistory,
  JobRecord,
  JobSummary,
  QueueStats,
  TimelineBin,
  WindowOptions,
  WorkerStats,
} from './ledger-queries';
export { reconcile } from './reconcile';
export type { ReconcilableQueue, ReconcileOptions, ReconcileResult } from './reconcile';
export type { JobCursor, JobFilters, TimelineStep } from './audit-sql';
export { queueHealth, reliabilityScore, DEFAULT_SLO } from './health';
export type { HealthState, QueueHealth } from './health';
