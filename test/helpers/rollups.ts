/**
 * Recounts of the hourly rollups straight from the ledger's tables, written
 * independently of the triggers that maintain them, and their comparison.
 */
import { expect } from 'chai';
import type { LedgerDb } from './ledger-db';

type Row = Record<string, unknown>;

/** key -> counters, with the histogram as "bucket:count" pairs; all-zero rollup rows dropped. */
type Counts = Record<string, Record<string, number | string>>;

async function query(db: LedgerDb, sql: string): Promise<Row[]> {
  return db.orm.em.getConnection().execute<Row[]>(sql);
}

function keyOf(row: Row, keyColumns: string[]): string {
  return keyColumns
    .map((column) => {
      const value = row[column];
      return value instanceof Date ? value.toISOString() : String(value);
    })
    .join('|');
}

function histogram(pairs: Array<[number, number]>): string {
  return pairs
    .filter(([, n]) => n !== 0)
    .sort(([a], [b]) => a - b)
    .map(([bucket, n]) => `${bucket}:${n}`)
    .join(' ');
}

function keyed(rows: Row[], keyColumns: string[], histograms: Map<string, string>): Counts {
  const counts: Counts = {};
  for (const row of rows) {
    const key = keyOf(row, keyColumns);
    const values: Record<string, number | string> = {};
    for (const [column, value] of Object.entries(row)) {
      if (keyColumns.includes(column) || column === 'duration_buckets') continue;
      values[column] = value instanceof Date ? value.toISOString() : Number(value);
    }
    values.histogram = histograms.get(key) ?? '';
    if (!Object.values(values).every((value) => value === 0 || value === '')) counts[key] = values;
  }
  return counts;
}

function rollupHistograms(rows: Row[], keyColumns: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const row of rows) {
    const key = keyOf(row, keyColumns);
    const buckets = (row.duration_buckets as number[]).map((n, i): [number, number] => [i + 1, n]);
    map.set(key, histogram(buckets));
  }
  return map;
}

function recountHistograms(rows: Row[], keyColumns: string[]): Map<string, string> {
  const pairs = new Map<string, Array<[number, number]>>();
  for (const row of rows) {
    const key = keyOf(row, keyColumns);
    pairs.set(key, [...(pairs.get(key) ?? []), [Number(row.bucket), Number(row.n)]]);
  }
  return new Map([...pairs].map(([key, list]) => [key, histogram(list)]));
}

/** Asserts that the hourly and daily rollups hold exactly what a recount of the records and attempts gives. */
export async function expectRollupsMatchLedger(db: LedgerDb): Promise<void> {
  for (const grain of ['hour', 'day'] as const) await expectGrainMatchesLedger(db, grain);
}

async function expectGrainMatchesLedger(db: LedgerDb, grain: 'hour' | 'day'): Promise<void> {
  const s = `"${db.schema}"`;
  const period = (t: string): string => `date_trunc('${grain}', ${t} at time zone 'UTC') at time zone 'UTC'`;
  const queueKey = [grain, 'queue_name'];
  const recordPeriod = period("coalesce(completed_at, case when status = 'PENDING' then enqueued_at end)");
  const queueRecount = await query(
    db,
    `select ${recordPeriod} as ${grain}, queue_name, count(*)::int as total_jobs,
      count(*) filter (where status = 'COMPLETED')::int as completed_jobs,
      count(*) filter (where status = 'FAILED' and final)::int as failed_jobs,
      count(*) filter (where status = 'FAILED' and not final)::int as retrying_jobs,
      count(*) filter (where status = 'PENDING')::int as pending_jobs,
      coalesce(sum(retry_count + case when status = 'FAILED' and not final then 1 else 0 end), 0)::int as retried_attempts,
      count(*) filter (where final and duration_ms is not null)::int as duration_count,
      coalesce(sum(duration_ms::numeric) filter (where final and duration_ms is not null), 0)::float8 as duration_sum_ms
    from ${s}.worker_job_records where ${recordPeriod} is not null group by 1, 2`,
  );
  const queueBuckets = await query(
    db,
    `select ${recordPeriod} as ${grain}, queue_name, ${s}.ledger_duration_bucket(duration_ms) as bucket, count(*)::int as n
    from ${s}.worker_job_records where ${recordPeriod} is not null and final and duration_ms is not null group by 1, 2, 3`,
  );
  const queueRollup = await query(
    db,
    `select ${grain}, queue_name, total_jobs, completed_jobs, failed_jobs, retrying_jobs, pending_jobs, retried_attempts,
      duration_count, duration_sum_ms::float8 as duration_sum_ms, duration_buckets from ${s}.ledger_queue_${grain}s`,
  );
  expect(keyed(queueRollup, queueKey, rollupHistograms(queueRollup, queueKey)), `ledger_queue_${grain}s`).to.deep.equal(
    keyed(queueRecount, queueKey, recountHistograms(queueBuckets, queueKey)),
  );

  const workerKey = [grain, 'service_name', 'host_name', 'process_pid'];
  const workerColumns = `${period('started_at')} as ${grain}, coalesce(service_name, '') as service_name,
      coalesce(host_name, '') as host_name, coalesce(process_pid, -1) as process_pid`;
  const workerRecount = await query(
    db,
    `select ${workerColumns}, count(*)::int as attempts,
      count(*) filter (where outcome in ('retry', 'failed', 'stalled'))::int as failures,
      count(*) filter (where outcome = 'stalled')::int as stalled, count(*)::int as duration_count,
      coalesce(sum(duration_ms::numeric), 0)::float8 as duration_sum_ms, max(ended_at) as last_seen
    from ${s}.worker_job_attempts group by 1, 2, 3, 4`,
  );
  const workerBuckets = await query(
    db,
    `select ${workerColumns}, ${s}.ledger_duration_bucket(duration_ms) as bucket, count(*)::int as n
    from ${s}.worker_job_attempts group by 1, 2, 3, 4, 5`,
  );
  const workerRollup = await query(
    db,
    `select ${grain}, service_name, host_name, process_pid, attempts, failures, stalled, duration_count,
      duration_sum_ms::float8 as duration_sum_ms, last_seen, duration_buckets
    from ${s}.ledger_worker_${grain}s where attempts <> 0`,
  );
  expect(
    keyed(workerRollup, workerKey, rollupHistograms(workerRollup, workerKey)),
    `ledger_worker_${grain}s`,
  ).to.deep.equal(keyed(workerRecount, workerKey, recountHistograms(workerBuckets, workerKey)));
}
