import { Migration } from '@mikro-orm/migrations';
import { quoteIdentifier } from './Migration20261204000000CreateLedger';

/**
 * Hourly and daily rollups, so that stats over days and weeks read a few
 * thousand rows instead of every job:
 *
 * - `ledger_queue_hours` / `ledger_queue_days`: per queue and UTC hour (day),
 *   the jobs counted then (when their newest attempt ended; for a job that
 *   has not run, when it was enqueued) by state, their retried attempts, and
 *   the durations of the finished ones (count, sum and a log-scale histogram,
 *   see schema/duration-buckets.ts).
 * - `ledger_worker_hours` / `ledger_worker_days`: per worker identity
 *   (service, host, pid) and the hour (day) an attempt started, its attempts,
 *   failures, stalls, durations and when it was last seen.
 *
 * Statement-level triggers keep them exact: every insert, update or delete of
 * `worker_job_records` / `worker_job_attempts` (the ledger's writer,
 * reconciliation, a retention job, hand-written SQL) adds the new rows'
 * contributions and subtracts the old ones, in the same transaction. Rows
 * already in the ledger are counted when the migration runs, with writers
 * held off by a table lock so that none is missed.
 */
export class Migration20261206000000Rollups extends Migration {
  override up(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const statement of rollupsUp(s)) this.addSql(statement);
  }

  override down(): void {
    const s = quoteIdentifier(this.config.get('schema') ?? 'public');
    for (const table of ['worker_job_records', 'worker_job_attempts']) {
      for (const kind of KINDS) {
        this.addSql(`drop trigger if exists "${table}_rollup_${kind}" on ${s}."${table}";`);
        this.addSql(`drop function if exists ${s}."${table}_rollup_${kind}"();`);
      }
    }
    for (const table of ROLLUP_TABLES) this.addSql(`drop table if exists ${s}."${table}";`);
    for (const fn of FUNCTIONS) this.addSql(`drop function if exists ${s}.${fn};`);
  }
}

/** The rollup tables (for a host's `schemaGenerator.skipTables`: they are not entities). */
export const ROLLUP_TABLES = ['ledger_queue_hours', 'ledger_queue_days', 'ledger_worker_hours', 'ledger_worker_days'];

const FUNCTIONS = [
  '"ledger_add_arrays"(int[], int[])',
  '"ledger_bucket_array"(int[], int[])',
  '"ledger_duration_bucket"(double precision)',
];

const KINDS = ['insert', 'update', 'delete', 'truncate'] as const;

type Grain = 'hour' | 'day';
const GRAINS: readonly Grain[] = ['hour', 'day'];

/**
 * The UTC hour (day) of a time, whatever the session's time zone. Written out
 * where it is used, not called as a function: PostgreSQL does not inline a
 * function whose argument is an expression used more than once.
 */
function truncated(grain: Grain, t: string): string {
  return `(date_trunc('${grain}', ${t} at time zone 'UTC') at time zone 'UTC')`;
}

/**
 * The histogram bucket of a non-null duration `ms` (see schema/duration-buckets.ts):
 * 1 under 1 ms, then four per doubling (5.7707... = 4 / ln 2), 112 from 2^27.5 ms
 * (NaN and Infinity included).
 */
function bucketOf(ms: string): string {
  return `(case when ${ms} < 1 then 1 when ${ms} >= 189812531.25 then 112 else least(2 + floor(5.770780163555854 * ln(${ms}))::int, 112) end)`;
}

/** What one kind of rollup counts, and from which table. */
interface RollupKind {
  readonly source: string;
  readonly table: (grain: Grain) => string;
  readonly key: readonly string[];
  readonly columns: string;
  readonly apply: (s: string, rows: string, grain: Grain) => string;
}

const QUEUE: RollupKind = {
  source: 'worker_job_records',
  table: (grain) => `ledger_queue_${grain}s`,
  key: ['queue_name'],
  columns: `"queue_name" text not null,
  "total_jobs" int not null default 0, "completed_jobs" int not null default 0, "failed_jobs" int not null default 0,
  "retrying_jobs" int not null default 0, "pending_jobs" int not null default 0, "retried_attempts" int not null default 0,
  "duration_count" int not null default 0, "duration_sum_ms" numeric not null default 0,
  "duration_buckets" int[] not null default '{}'`,
  apply: applyQueueDeltas,
};

const WORKER: RollupKind = {
  source: 'worker_job_attempts',
  table: (grain) => `ledger_worker_${grain}s`,
  key: ['service_name', 'host_name', 'process_pid'],
  columns: `"service_name" text not null, "host_name" text not null, "process_pid" int not null,
  "attempts" int not null default 0, "failures" int not null default 0, "stalled" int not null default 0,
  "duration_count" int not null default 0, "duration_sum_ms" numeric not null default 0,
  "duration_buckets" int[] not null default '{}', "last_seen" timestamptz null`,
  apply: applyWorkerDeltas,
};

function rollupsUp(s: string): string[] {
  const statements = [
    // Writers wait here until the rollups exist and hold every row written so far.
    `lock table ${s}."worker_job_records", ${s}."worker_job_attempts" in share row exclusive mode;`,
    `create function ${s}."ledger_duration_bucket"(ms double precision) returns int language sql immutable parallel safe as $$
  select case when ms is null then null else ${bucketOf('ms')} end $$;`,
    // A dense array from (bucket, count) pairs.
    `create function ${s}."ledger_bucket_array"(idx int[], n int[]) returns int[] language sql immutable parallel safe as $$
  select coalesce(array_agg(coalesce(x.n, 0) order by g.i), '{}')
  from generate_series(1, (select coalesce(max(v), 0) from unnest(idx) as v)) as g(i)
  left join unnest(idx, n) as x(i, n) on x.i = g.i $$;`,
    // Element-wise a + b (a missing element counts 0).
    `create function ${s}."ledger_add_arrays"(a int[], b int[]) returns int[] language sql immutable parallel safe as $$
  select coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) order by i), '{}')
  from generate_series(1, greatest(coalesce(array_length(a, 1), 0), coalesce(array_length(b, 1), 0))) as i $$;`,
  ];
  for (const kind of [QUEUE, WORKER]) {
    for (const grain of GRAINS) {
      const table = kind.table(grain);
      statements.push(
        `create table ${s}."${table}" ("${grain}" timestamptz not null, ${kind.columns},
  constraint "${table}_pkey" primary key (${[grain, ...kind.key].map((column) => `"${column}"`).join(', ')}));`,
        // Count what is already there.
        kind.apply(s, `select t.*, 1 as sign from ${s}."${kind.source}" as t`, grain),
      );
    }
    statements.push(...triggers(s, kind));
  }
  return statements;
}

/** One trigger per kind of change (transition tables allow only one event per trigger). */
function triggers(s: string, kind: RollupKind): string[] {
  const changed = {
    insert: 'select n.*, 1 as sign from new_rows as n',
    update: 'select o.*, -1 as sign from old_rows as o union all select n.*, 1 as sign from new_rows as n',
    delete: 'select o.*, -1 as sign from old_rows as o',
  };
  const referencing = {
    insert: 'referencing new table as new_rows',
    update: 'referencing old table as old_rows new table as new_rows',
    delete: 'referencing old table as old_rows',
    truncate: '',
  };
  const statements: string[] = [];
  for (const change of KINDS) {
    const name = `${kind.source}_rollup_${change}`;
    const body = GRAINS.map((grain) =>
      change === 'truncate'
        ? `truncate ${s}."${kind.table(grain)}";`
        : [
            kind.apply(s, changed[change], grain),
            kind === WORKER && change !== 'insert' ? lastSeenRepair(s, grain) : '',
          ].join('\n  '),
    ).join('\n  ');
    statements.push(
      `create function ${s}."${name}"() returns trigger language plpgsql as $fn$
begin
  ${body}
  return null;
end $fn$;`,
      `create trigger "${name}" after ${change} on ${s}."${kind.source}" ${referencing[change]} for each statement execute function ${s}."${name}"();`,
    );
  }
  return statements;
}

/**
 * A maximum cannot be taken back: when attempts are deleted or changed, the
 * periods they touched get their `last_seen` read again from what is left.
 */
function lastSeenRepair(s: string, grain: Grain): string {
  return `update ${s}."ledger_worker_${grain}s" as w set "last_seen" = (
    select max(a.ended_at) from ${s}."worker_job_attempts" as a
    where a.started_at >= w.${grain} and a.started_at < w.${grain} + interval '1 ${grain}'
      and coalesce(a.service_name, '') = w.service_name and coalesce(a.host_name, '') = w.host_name
      and coalesce(a.process_pid, -1) = w.process_pid)
  where (w.${grain}, w.service_name, w.host_name, w.process_pid) in (
    select ${truncated(grain, 'o.started_at')}, coalesce(o.service_name, ''), coalesce(o.host_name, ''),
      coalesce(o.process_pid, -1)
    from old_rows as o);`;
}

/** Histogram deltas per key, as dense arrays, from a `c` with `sign` and `bucket`. */
function bucketDeltas(s: string, keys: string): string {
  return `b as (
    select ${keys}, bucket, sum(sign)::int as n from c where bucket is not null group by ${keys}, bucket having sum(sign) <> 0
  ), ba as (
    select ${keys}, ${s}."ledger_bucket_array"(array_agg(bucket), array_agg(n)) as buckets from b group by ${keys}
  )`;
}

/** Adds the deltas of `rows` (with a `sign`) to `ledger_queue_{grain}s`. */
function applyQueueDeltas(s: string, rows: string, grain: Grain): string {
  const keys = `${grain}, queue_name`;
  return `with c as (
    select r.queue_name, r.sign, r.status::text as status, r.final, r.retry_count,
      ${truncated(grain, "coalesce(r.completed_at, case when r.status = 'PENDING' then r.enqueued_at end)")} as ${grain},
      case when r.final then r.duration_ms end as duration_ms,
      case when r.final and r.duration_ms is not null then ${bucketOf('r.duration_ms')} end as bucket
    from (${rows}) as r
  ), k as (
    select ${keys},
      sum(sign)::int as total_jobs,
      coalesce(sum(sign) filter (where status = 'COMPLETED'), 0)::int as completed_jobs,
      coalesce(sum(sign) filter (where status = 'FAILED' and final), 0)::int as failed_jobs,
      coalesce(sum(sign) filter (where status = 'FAILED' and not final), 0)::int as retrying_jobs,
      coalesce(sum(sign) filter (where status = 'PENDING'), 0)::int as pending_jobs,
      sum(sign * (retry_count + case when status = 'FAILED' and not final then 1 else 0 end))::int as retried_attempts,
      coalesce(sum(sign) filter (where duration_ms is not null), 0)::int as duration_count,
      coalesce(sum(sign * duration_ms::numeric) filter (where duration_ms is not null), 0) as duration_sum_ms
    from c where ${grain} is not null group by ${keys}
  ), ${bucketDeltas(s, keys)}
  insert into ${s}."ledger_queue_${grain}s" as h (${keys}, total_jobs, completed_jobs, failed_jobs, retrying_jobs,
    pending_jobs, retried_attempts, duration_count, duration_sum_ms, duration_buckets)
  select k.${grain}, k.queue_name, k.total_jobs, k.completed_jobs, k.failed_jobs, k.retrying_jobs, k.pending_jobs,
    k.retried_attempts, k.duration_count, k.duration_sum_ms, coalesce(ba.buckets, '{}')
  from k left join ba using (${keys})
  where ba.buckets is not null or k.total_jobs <> 0 or k.completed_jobs <> 0 or k.failed_jobs <> 0
    or k.retrying_jobs <> 0 or k.pending_jobs <> 0 or k.retried_attempts <> 0 or k.duration_count <> 0 or k.duration_sum_ms <> 0
  order by k.${grain}, k.queue_name
  on conflict (${keys}) do update set
    total_jobs = h.total_jobs + excluded.total_jobs,
    completed_jobs = h.completed_jobs + excluded.completed_jobs,
    failed_jobs = h.failed_jobs + excluded.failed_jobs,
    retrying_jobs = h.retrying_jobs + excluded.retrying_jobs,
    pending_jobs = h.pending_jobs + excluded.pending_jobs,
    retried_attempts = h.retried_attempts + excluded.retried_attempts,
    duration_count = h.duration_count + excluded.duration_count,
    duration_sum_ms = h.duration_sum_ms + excluded.duration_sum_ms,
    duration_buckets = ${s}."ledger_add_arrays"(h.duration_buckets, excluded.duration_buckets);`;
}

/** Adds the deltas of `rows` (with a `sign`) to `ledger_worker_{grain}s`. */
function applyWorkerDeltas(s: string, rows: string, grain: Grain): string {
  const keys = `${grain}, service_name, host_name, process_pid`;
  return `with c as (
    select ${truncated(grain, 'a.started_at')} as ${grain}, coalesce(a.service_name, '') as service_name,
      coalesce(a.host_name, '') as host_name, coalesce(a.process_pid, -1) as process_pid,
      a.sign, a.outcome, a.duration_ms, a.ended_at,
      case when a.duration_ms is not null then ${bucketOf('a.duration_ms')} end as bucket
    from (${rows}) as a
  ), k as (
    select ${keys},
      sum(sign)::int as attempts,
      coalesce(sum(sign) filter (where outcome in ('retry', 'failed', 'stalled')), 0)::int as failures,
      coalesce(sum(sign) filter (where outcome = 'stalled'), 0)::int as stalled,
      coalesce(sum(sign) filter (where duration_ms is not null), 0)::int as duration_count,
      coalesce(sum(sign * duration_ms::numeric) filter (where duration_ms is not null), 0) as duration_sum_ms,
      max(ended_at) filter (where sign > 0) as last_seen
    from c where ${grain} is not null group by ${keys}
  ), ${bucketDeltas(s, keys)}
  insert into ${s}."ledger_worker_${grain}s" as h (${keys}, attempts, failures, stalled,
    duration_count, duration_sum_ms, duration_buckets, last_seen)
  select k.${grain}, k.service_name, k.host_name, k.process_pid, k.attempts, k.failures, k.stalled, k.duration_count,
    k.duration_sum_ms, coalesce(ba.buckets, '{}'), k.last_seen
  from k left join ba using (${keys})
  where ba.buckets is not null or k.attempts <> 0 or k.failures <> 0 or k.stalled <> 0 or k.duration_count <> 0
    or k.duration_sum_ms <> 0 or k.last_seen is not null
  order by k.${grain}, k.service_name, k.host_name, k.process_pid
  on conflict (${keys}) do update set
    attempts = h.attempts + excluded.attempts,
    failures = h.failures + excluded.failures,
    stalled = h.stalled + excluded.stalled,
    duration_count = h.duration_count + excluded.duration_count,
    duration_sum_ms = h.duration_sum_ms + excluded.duration_sum_ms,
    duration_buckets = ${s}."ledger_add_arrays"(h.duration_buckets, excluded.duration_buckets),
    last_seen = greatest(h.last_seen, excluded.last_seen);`;
}

/**
 * The trigger functions, written so that one statement per kind of rollup
 * folds the changed rows into the hourly rollup and derives the daily deltas
 * from the hourly ones (instead of folding the transition table once per
 * grain). Installed by Migration20261209000000CombinedRollupTriggers.
 */
export function combinedTriggerFunctions(s: string): string[] {
  return [QUEUE, WORKER].flatMap((kind) =>
    TRIGGER_CHANGES.map((change) => {
      const name = `${kind.source}_rollup_${change}`;
      const body =
        change === 'truncate'
          ? GRAINS.map((grain) => `truncate ${s}."${kind.table(grain)}";`).join('\n  ')
          : [
              kind === QUEUE
                ? applyQueueBothGrains(s, CHANGED_ROWS[change])
                : applyWorkerBothGrains(s, CHANGED_ROWS[change]),
              ...(kind === WORKER && change !== 'insert' ? GRAINS.map((grain) => lastSeenRepair(s, grain)) : []),
            ].join('\n  ');
      return `create or replace function ${s}."${name}"() returns trigger language plpgsql as $fn$
begin
  ${body}
  return null;
end $fn$;`;
    }),
  );
}

/** The per-grain trigger functions of the first version (for the down() of the combined ones). */
export function perGrainTriggerFunctions(s: string): string[] {
  return [QUEUE, WORKER].flatMap((kind) =>
    triggers(s, kind)
      .filter((statement) => statement.startsWith('create function'))
      .map((statement) => statement.replace(/^create function/, 'create or replace function')),
  );
}

const TRIGGER_CHANGES = ['insert', 'update', 'delete', 'truncate'] as const;

const CHANGED_ROWS = {
  insert: 'select n.*, 1 as sign from new_rows as n',
  update: 'select o.*, -1 as sign from old_rows as o union all select n.*, 1 as sign from new_rows as n',
  delete: 'select o.*, -1 as sign from old_rows as o',
} as const;

const DAY_OF_HOUR = (column: string): string => `(date_trunc('day', ${column} at time zone 'UTC') at time zone 'UTC')`;

/** Adds the deltas of `rows` (with a `sign`) to `ledger_queue_hours` and, summed per day, `ledger_queue_days`. */
function applyQueueBothGrains(s: string, rows: string): string {
  const counts = [
    'total_jobs',
    'completed_jobs',
    'failed_jobs',
    'retrying_jobs',
    'pending_jobs',
    'retried_attempts',
    'duration_count',
  ];
  const nonZero = (t: string): string =>
    [...counts, 'duration_sum_ms'].map((column) => `${t}.${column} <> 0`).join(' or ');
  const upsert = (
    grain: Grain,
    from: string,
    buckets: string,
  ): string => `insert into ${s}."ledger_queue_${grain}s" as h (${grain}, queue_name, ${counts.join(', ')}, duration_sum_ms, duration_buckets)
    select k.${grain}, k.queue_name, ${counts.map((column) => `k.${column}`).join(', ')}, k.duration_sum_ms, coalesce(ba.buckets, '{}')
    from ${from} as k left join ${buckets} as ba using (${grain}, queue_name)
    where ba.buckets is not null or ${nonZero('k')}
    order by k.${grain}, k.queue_name
    on conflict (${grain}, queue_name) do update set
      ${counts.map((column) => `${column} = h.${column} + excluded.${column}`).join(',\n      ')},
      duration_sum_ms = h.duration_sum_ms + excluded.duration_sum_ms,
      duration_buckets = ${s}."ledger_add_arrays"(h.duration_buckets, excluded.duration_buckets)`;
  return `with c as (
    select r.queue_name, r.sign, r.status::text as status, r.final, r.retry_count,
      ${truncated('hour', "coalesce(r.completed_at, case when r.status = 'PENDING' then r.enqueued_at end)")} as hour,
      case when r.final then r.duration_ms end as duration_ms,
      case when r.final and r.duration_ms is not null then ${bucketOf('r.duration_ms')} end as bucket
    from (${rows}) as r
  ), k as (
    select hour, queue_name,
      sum(sign)::int as total_jobs,
      coalesce(sum(sign) filter (where status = 'COMPLETED'), 0)::int as completed_jobs,
      coalesce(sum(sign) filter (where status = 'FAILED' and final), 0)::int as failed_jobs,
      coalesce(sum(sign) filter (where status = 'FAILED' and not final), 0)::int as retrying_jobs,
      coalesce(sum(sign) filter (where status = 'PENDING'), 0)::int as pending_jobs,
      sum(sign * (retry_count + case when status = 'FAILED' and not final then 1 else 0 end))::int as retried_attempts,
      coalesce(sum(sign) filter (where duration_ms is not null), 0)::int as duration_count,
      coalesce(sum(sign * duration_ms::numeric) filter (where duration_ms is not null), 0) as duration_sum_ms
    from c where hour is not null group by hour, queue_name
  ), b as (
    select hour, queue_name, bucket, sum(sign)::int as n from c where bucket is not null and hour is not null
    group by hour, queue_name, bucket having sum(sign) <> 0
  ), ba as (
    select hour, queue_name, ${s}."ledger_bucket_array"(array_agg(bucket), array_agg(n)) as buckets from b group by hour, queue_name
  ), hours as (
    ${upsert('hour', 'k', 'ba')}
  ), kd as (
    select ${DAY_OF_HOUR('hour')} as day, queue_name, ${counts.map((column) => `sum(${column})::int as ${column}`).join(', ')},
      sum(duration_sum_ms) as duration_sum_ms
    from k group by 1, 2
  ), bd as (
    select ${DAY_OF_HOUR('hour')} as day, queue_name, bucket, sum(n)::int as n from b group by 1, 2, 3 having sum(n) <> 0
  ), bad as (
    select day, queue_name, ${s}."ledger_bucket_array"(array_agg(bucket), array_agg(n)) as buckets from bd group by day, queue_name
  )
  ${upsert('day', 'kd', 'bad')};`;
}

/** Adds the deltas of `rows` (with a `sign`) to `ledger_worker_hours` and, summed per day, `ledger_worker_days`. */
function applyWorkerBothGrains(s: string, rows: string): string {
  const counts = ['attempts', 'failures', 'stalled', 'duration_count'];
  const key = 'service_name, host_name, process_pid';
  const upsert = (
    grain: Grain,
    from: string,
    buckets: string,
  ): string => `insert into ${s}."ledger_worker_${grain}s" as h (${grain}, ${key}, ${counts.join(', ')}, duration_sum_ms, duration_buckets, last_seen)
    select k.${grain}, k.service_name, k.host_name, k.process_pid, ${counts.map((column) => `k.${column}`).join(', ')},
      k.duration_sum_ms, coalesce(ba.buckets, '{}'), k.last_seen
    from ${from} as k left join ${buckets} as ba using (${grain}, ${key})
    where ba.buckets is not null or ${counts.map((column) => `k.${column} <> 0`).join(' or ')} or k.duration_sum_ms <> 0 or k.last_seen is not null
    order by k.${grain}, k.service_name, k.host_name, k.process_pid
    on conflict (${grain}, ${key}) do update set
      ${counts.map((column) => `${column} = h.${column} + excluded.${column}`).join(',\n      ')},
      duration_sum_ms = h.duration_sum_ms + excluded.duration_sum_ms,
      duration_buckets = ${s}."ledger_add_arrays"(h.duration_buckets, excluded.duration_buckets),
      last_seen = greatest(h.last_seen, excluded.last_seen)`;
  return `with c as (
    select ${truncated('hour', 'a.started_at')} as hour, coalesce(a.service_name, '') as service_name,
      coalesce(a.host_name, '') as host_name, coalesce(a.process_pid, -1) as process_pid,
      a.sign, a.outcome, a.duration_ms, a.ended_at,
      case when a.duration_ms is not null then ${bucketOf('a.duration_ms')} end as bucket
    from (${rows}) as a
  ), k as (
    select hour, ${key},
      sum(sign)::int as attempts,
      coalesce(sum(sign) filter (where outcome in ('retry', 'failed', 'stalled')), 0)::int as failures,
      coalesce(sum(sign) filter (where outcome = 'stalled'), 0)::int as stalled,
      coalesce(sum(sign) filter (where duration_ms is not null), 0)::int as duration_count,
      coalesce(sum(sign * duration_ms::numeric) filter (where duration_ms is not null), 0) as duration_sum_ms,
      max(ended_at) filter (where sign > 0) as last_seen
    from c where hour is not null group by hour, ${key}
  ), b as (
    select hour, ${key}, bucket, sum(sign)::int as n from c where bucket is not null and hour is not null
    group by hour, ${key}, bucket having sum(sign) <> 0
  ), ba as (
    select hour, ${key}, ${s}."ledger_bucket_array"(array_agg(bucket), array_agg(n)) as buckets from b group by hour, ${key}
  ), hours as (
    ${upsert('hour', 'k', 'ba')}
  ), kd as (
    select ${DAY_OF_HOUR('hour')} as day, ${key}, ${counts.map((column) => `sum(${column})::int as ${column}`).join(', ')},
      sum(duration_sum_ms) as duration_sum_ms, max(last_seen) as last_seen
    from k group by 1, 2, 3, 4
  ), bd as (
    select ${DAY_OF_HOUR('hour')} as day, ${key}, bucket, sum(n)::int as n from b group by 1, 2, 3, 4, 5 having sum(n) <> 0
  ), bad as (
    select day, ${key}, ${s}."ledger_bucket_array"(array_agg(bucket), array_agg(n)) as buckets from bd group by day, ${key}
  )
  ${upsert('day', 'kd', 'bad')};`;
}
