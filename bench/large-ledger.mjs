// The large bench ledger shared by the audit and dashboard benches: 1,000,000 records over
// 20 queues and 30 days (plus one attempt row each, and more for failed jobs), written in time
// order as a ledger is, in a fresh schema with the indexes the migrations create.
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { ledgerEntities, migrateLedger } from 'bullmq-ledger/schema';

/**
 * Opens (and, unless `schema` names one that is already loaded, fills) a bench ledger.
 * Returns the ORM, the schema and a `dispose()` that drops the schema unless `keep`.
 */
export async function openLargeLedger({ records, schema: given, keep = false, databaseUrl = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test' }) {
  const schema = given ?? `bench_audit_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const orm = await MikroORM.init({ entities: [...ledgerEntities], clientUrl: databaseUrl, schema, pool: { min: 1, max: 4 } });
  const connection = orm.em.getConnection();
  const s = `"${schema}"`;
  const dispose = async () => {
    if (keep) console.log(`kept the bench ledger in schema ${schema} (reuse it with --schema ${schema})`);
    else await connection.execute(`drop schema if exists ${s} cascade`);
    await orm.close(true);
  };
  const [{ loaded }] = await connection.execute(
    `select count(*) > 0 as loaded from information_schema.tables where table_schema = ? and table_name = 'worker_job_records'`,
    [schema],
  );
  if (loaded) {
    await migrateLedger(orm);
    const [{ n }] = await connection.execute(`select count(*)::int as n from ${s}.worker_job_records`);
    console.log(`reusing the bench ledger in schema ${schema}: ${n} records`);
    return { orm, schema, dispose };
  }
  try {
    await migrateLedger(orm);
  const loadStarted = performance.now();
    // In time order, as a ledger is written: 2% failed for good, 0.2% failing and retrying, 1% pending,
    // the rest completed; durations 0-2 s.
    await connection.execute(`
      insert into ${s}.worker_job_records (id, job_id, queue_name, job_name, status, started_at, completed_at, duration_ms,
        error_details, retry_count, enqueued_at, attempt, attempts_started, outcome, final, trace_id, span_id)
      select 'queue-' || (g % 20) || ':' || g, g::text, 'queue-' || (g % 20), 'job-' || (g % 7),
        (case when g % 100 = 7 then 'PENDING' when g % 50 = 0 or g % 500 = 1 then 'FAILED' else 'COMPLETED' end)::${s}.worker_job_status,
        case when g % 100 = 7 then null else x.t end,
        case when g % 100 = 7 then null else x.t + make_interval(secs => x.d / 1000) end,
        case when g % 100 = 7 then null else x.d end,
        case when g % 50 = 0 or g % 500 = 1 then jsonb_build_object('name', 'Error', 'message', 'upstream said no ' || (g % 13)) end,
        case when g % 500 = 1 then 4 when g % 50 = 0 then 2 else 0 end,
        x.t - interval '2 seconds',
        case when g % 100 = 7 then 0 when g % 500 = 1 then 5 when g % 50 = 0 then 3 else 1 end,
        case when g % 100 = 7 then 0 when g % 500 = 1 then 5 when g % 50 = 0 then 3 else 1 end,
        case when g % 100 = 7 then null when g % 500 = 1 then 'retry' when g % 50 = 0 then 'failed' else 'completed' end,
        g % 100 <> 7 and g % 500 <> 1,
        md5(g::text), substr(md5(g::text), 1, 16)
      from generate_series(1, ?) as g,
        lateral (select now() - interval '30 days' + (g::float8 / ?) * interval '30 days' as t, random() * 2000 + (g % 3) as d) as x`, [records, records]);
    await connection.execute(`
      insert into ${s}.worker_job_attempts (span_id, trace_id, queue_name, job_id, job_name, attempt, attempts_started, outcome, final,
        started_at, ended_at, duration_ms, error_details, service_name, host_name, process_pid)
      select substr(md5(r.id || a), 1, 16), r.trace_id, r.queue_name, r.job_id, r.job_name, a, a,
        case when a < r.attempt then 'retry' else r.outcome end, a = r.attempt and r.final,
        r.started_at + make_interval(secs => a), r.completed_at + make_interval(secs => a), r.duration_ms,
        case when a < r.attempt then r.error_details end,
        'service-' || (abs(hashtext(r.id)) % 5), 'host-' || (abs(hashtext(r.id)) % 10), 1000 + abs(hashtext(r.id)) % 40
      from ${s}.worker_job_records r, generate_series(1, r.attempt) as a
      where r.attempt > 0`);
    await connection.execute(`analyze ${s}.worker_job_records`);
    await connection.execute(`analyze ${s}.worker_job_attempts`);
    await connection.execute(`analyze ${s}.ledger_queue_hours`);
    await connection.execute(`analyze ${s}.ledger_worker_hours`);
    const [{ n: attempts }] = await connection.execute(`select count(*)::int as n from ${s}.worker_job_attempts`);
    console.log(`loaded ${records} records and ${attempts} attempts in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s (PostgreSQL ${(await connection.execute('show server_version'))[0].server_version})`);

  } catch (error) {
    await dispose();
    throw error;
  }
  return { orm, schema, dispose };
}
