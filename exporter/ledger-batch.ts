/**
 * A batch as the database needs it: one record row per job (PostgreSQL rejects
 * an upsert that touches a row twice), merged with the same rule as the SQL;
 * one attempt row per span; both sorted by key, so that concurrent writers
 * lock rows in the same order and do not deadlock each other.
 */
import type { AttemptRow, LedgerRows, RecordRow } from './ledger-rows';
import { mergeRecord } from './record-order';

export interface PreparedBatch {
  readonly records: readonly RecordRow[];
  readonly attempts: readonly AttemptRow[];
}

export function prepareBatch(batch: readonly LedgerRows[]): PreparedBatch {
  const records = new Map<string, RecordRow>();
  const attempts = new Map<string, AttemptRow>();
  for (const { record, attempt } of batch) {
    const stored = records.get(record.id);
    records.set(record.id, stored === undefined ? record : mergeRecord(stored, record));
    if (attempt !== undefined) attempts.set(attempt.spanId, attempt);
  }
  return {
    records: [...records.values()].sort(byRecordKey),
    attempts: [...attempts.values()].sort((a, b) => compareText(a.spanId, b.spanId)),
  };
}

/** The order of the unique index (job_id, queue_name): the order rows get locked in. */
function byRecordKey(a: RecordRow, b: RecordRow): number {
  return compareText(a.jobId, b.jobId) || compareText(a.queueName, b.queueName);
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
