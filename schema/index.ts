/**
 * `bullmq-ledger/schema`: the ledger's MikroORM entities (defined without
 * decorators) and migrations.
 */
import { WorkerJobAttempt } from './worker-job-attempt';
import { WorkerJobRecord } from './worker-job-record';

export { WorkerJobRecord, JOB_STATUSES } from './worker-job-record';
export type { JobStatus, ErrorDetailsColumn } from './worker-job-record';
export { WorkerJobAttempt } from './worker-job-attempt';
export { ledgerMigrations, migrateLedger, LEDGER_MIGRATIONS_TABLE, LEDGER_SKIP_TABLES } from './migrate';
export type { MigrateLedgerResult } from './migrate';
export { Migration20261204000000CreateLedger } from './migrations/Migration20261204000000CreateLedger';
export { Migration20261205000000AuditIndexes } from './migrations/Migration20261205000000AuditIndexes';
export { Migration20261206000000Rollups } from './migrations/Migration20261206000000Rollups';
export {
  Migration20261207000000DashboardActions,
  DASHBOARD_ACTIONS_TABLE,
} from './migrations/Migration20261207000000DashboardActions';
export { Migration20261208000000SearchIndexes } from './migrations/Migration20261208000000SearchIndexes';
export { Migration20261209000000CombinedRollupTriggers } from './migrations/Migration20261209000000CombinedRollupTriggers';
export { Migration20261210000000SlowestIndexes } from './migrations/Migration20261210000000SlowestIndexes';
export { BUCKETS_PER_DOUBLING, DURATION_BUCKET_COUNT, bucketLowerBound, bucketUpperBound } from './duration-buckets';

/** Both entities, for a host's `entities` option. */
export const ledgerEntities = [WorkerJobRecord, WorkerJobAttempt] as const;
