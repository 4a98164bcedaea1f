// Rows/s of the ledger's write path against a raw `pg` multi-row unnest insert of
// the same rows (the ceiling), measured in the same run, rounds interleaved.
//
//   npm run bench:writer
//   node bench/ledger-writer.mjs --rows 100000 --batch 500 --rounds 3
//
// Both write each span's two rows (the job's record and the attempt) in one
// transaction per batch, into freshly migrated tables of their own schema. The
// ledger path adds what the product needs: merging duplicates within a batch,
// sorting, the monotonic ON CONFLICT upsert, and the triggers that keep the
// hourly rollups; the raw path writes the same tables without those triggers.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { Migration20261206000000Rollups, ledgerEntities, migrateLedger } from 'bullmq-ledger/schema';
import { recordId } from 'bullmq-ledger/exporter';
import { prepareBatch } from '../dist/exporter/ledger-batch.js';
import { LedgerWriter } from '../dist/exporter/ledger-writer.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '3' },
  },
});
const total = Number(values.rows);
const batchSize = Number(values.batch);
const rounds = Number(values.rounds);
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test';

/** One completed attempt per job, all different jobs: a steady stream of new work. */
function makeRows(prefix) {
  const now = Date.now();
  return Array.from({ length: total }, (_, i) => {
    const jobId = `${prefix}-${i}`;
    const spanId = randomUUID().replaceAll('-', '').slice(0, 16);
    const traceId = randomUUID().replaceAll('-', '');
    const base = { queueName: 'bench', jobId, jobName: 'noop', attempt: 1, attemptsStarted: 1, final: true, startedAt: now + i, durationMs: 1.5, errorDetails: null, spanId, traceId };
    return {
      record: { ...base, id: recordId('bench', jobId), status: 'COMPLETED', completedAt: now + i + 1.5, resultSummary: null, metadata: null, retryCount: 0, enqueuedAt: now, outcome: 'completed' },
      attempt: { ...base, outcome: 'completed', endedAt: now + i + 1.5, serviceName: 'bench', hostName: os.hostname(), processPid: process.pid, workerName: null },
    };
  });
}

async function withSchema(run, { rollups = true } = {}) {
  const schema = `bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const orm = await MikroORM.init({ entities: [...ledgerEntities], clientUrl: databaseUrl, schema, pool: { min: 1, max: 2 } });
  try {
    await migrateLedger(orm);
    if (!rollups) {
      // The baseline writes plain tables: no rollup triggers.
      const migration = new Migration20261206000000Rollups(orm.em.getDriver(), orm.config);
      migration.down();
      for (const query of migration.getQueries()) await orm.em.getConnection().execute(query);
    }
    return await run(orm, schema);
  } finally {
    await orm.em.getConnection().execute(`drop schema "${schema}" cascade`);
    await orm.close(true);
  }
}

async function ledgerPath(rows, { rollups = true } = {}) {
  return withSchema(async (orm) => {
    const writer = new LedgerWriter(orm);
    const started = performance.now();
    for (let i = 0; i < rows.length; i += batchSize) await writer.write(prepareBatch(rows.slice(i, i + batchSize)));
    return rows.length / ((performance.now() - started) / 1000);
  }, { rollups });
}

async function rawPg(rows) {
  return withSchema(async (_orm, schema) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    // The same columns as the ledger writes, plain inserts (no conflict handling).
    const recordSql = `insert into "${schema}".worker_job_records (id, job_id, queue_name, job_name, status, started_at, completed_at, duration_ms, error_details, result_summary, metadata, retry_count, enqueued_at, attempt, attempts_started, outcome, final, trace_id, span_id)
      select id, job_id, queue_name, job_name, status::"${schema}".worker_job_status, to_timestamp(s / 1000.0), to_timestamp(c / 1000.0), d, ed::jsonb, rs::jsonb, md::jsonb, rc, to_timestamp(e / 1000.0), a, ats, o, f, t, sp
      from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::text[], $10::text[], $11::text[], $12::int4[], $13::float8[], $14::int4[], $15::int4[], $16::text[], $17::bool[], $18::text[], $19::text[])
        as i(id, job_id, queue_name, job_name, status, s, c, d, ed, rs, md, rc, e, a, ats, o, f, t, sp)`;
    const attemptSql = `insert into "${schema}".worker_job_attempts (span_id, trace_id, queue_name, job_id, job_name, attempt, attempts_started, outcome, final, started_at, ended_at, duration_ms, error_details, service_name, host_name, process_pid, worker_name)
      select sp, t, q, j, n, a, ats, o, f, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), d, ed::jsonb, sv, h, p, w
      from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int4[], $8::text[], $9::bool[], $10::float8[], $11::float8[], $12::float8[], $13::text[], $14::text[], $15::text[], $16::int4[], $17::text[])
        as i(sp, t, q, j, n, a, ats, o, f, s, e, d, ed, sv, h, p, w)`;
    const json = (value) => (value === null ? null : JSON.stringify(value));
    const started = performance.now();
    for (let i = 0; i < rows.length; i += batchSize) {
      const batch = rows.slice(i, i + batchSize);
      const r = batch.map((row) => row.record);
      const a = batch.map((row) => row.attempt);
      await client.query('begin');
      await client.query(recordSql, [r.map((x) => x.id), r.map((x) => x.jobId), r.map((x) => x.queueName), r.map((x) => x.jobName), r.map((x) => x.status), r.map((x) => x.startedAt), r.map((x) => x.completedAt), r.map((x) => x.durationMs), r.map((x) => json(x.errorDetails)), r.map((x) => json(x.resultSummary)), r.map((x) => json(x.metadata)), r.map((x) => x.retryCount), r.map((x) => x.enqueuedAt), r.map((x) => x.attempt), r.map((x) => x.attemptsStarted), r.map((x) => x.outcome), r.map((x) => x.final), r.map((x) => x.traceId), r.map((x) => x.spanId)]);
      await client.query(attemptSql, [a.map((x) => x.spanId), a.map((x) => x.traceId), a.map((x) => x.queueName), a.map((x) => x.jobId), a.map((x) => x.jobName), a.map((x) => x.attempt), a.map((x) => x.attemptsStarted), a.map((x) => x.outcome), a.map((x) => x.final), a.map((x) => x.startedAt), a.map((x) => x.endedAt), a.map((x) => x.durationMs), a.map((x) => json(x.errorDetails)), a.map((x) => x.serviceName), a.map((x) => x.hostName), a.map((x) => x.processPid), a.map((x) => x.workerName)]);
      await client.query('commit');
    }
    const rate = rows.length / ((performance.now() - started) / 1000);
    await client.end();
    return rate;
  }, { rollups: false });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${total} spans (a record and an attempt row each), batches of ${batchSize}, ${rounds} rounds`);
const variants = {
  raw: { label: 'raw pg unnest insert', run: (rows) => rawPg(rows) },
  ledger: { label: 'ledger (LedgerWriter, with the rollup triggers)', run: (rows) => ledgerPath(rows) },
  bare: { label: 'ledger without the rollup triggers', run: (rows) => ledgerPath(rows, { rollups: false }) },
};
const results = { raw: [], ledger: [], bare: [] };
const ratios = { raw: [], ledger: [], bare: [] };
for (let round = 1; round <= rounds; round++) {
  const names = Object.keys(variants);
  const order = names.map((_, i) => names[(i + round) % names.length]);
  const thisRound = {};
  for (const variant of order) {
    const rows = makeRows(`${variant}-${round}`);
    thisRound[variant] = await variants[variant].run(rows);
    results[variant].push(thisRound[variant]);
    console.log(`round ${round} ${variant.padEnd(6)} ${thisRound[variant].toFixed(0).padStart(7)} spans/s`);
  }
  for (const variant of names) ratios[variant].push(thisRound[variant] / thisRound.raw);
}
console.log('\n| path | spans/s (median) | vs raw pg (median of per-round ratios) |');
console.log('|---|---|---|');
for (const [variant, { label }] of Object.entries(variants)) {
  console.log(`| ${label} | ${median(results[variant]).toFixed(0)} | ${(median(ratios[variant]) * 100).toFixed(1)}% |`);
}
