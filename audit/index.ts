/**
 * `bullmq-ledger/audit`: questions to the ledger (typed queries), its health
 * as the alert rules judge it, and reconciliation against what BullMQ still
 * retains.
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
export { evaluateHealth } from './evaluate-health';
export type { HealthOptions, HealthReport, HealthRequest, HealthSource } from './evaluate-health';
export { reliabilityScore, DEFAULT_SLO } from './health';
export type { ConditionCheck, HealthState, LowTrafficCheck, QueueHealth, RangeHealth, WindowHealth } from './health';
export type { ErrorCount, WorkerHealth, WorkerIdentity } from './worker-health';
