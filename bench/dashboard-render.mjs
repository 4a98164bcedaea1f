// Server render time of the dashboard's pages and JSON twins on the large bench ledger
// (1,000,000 records over 20 queues and 30 days, bench/large-ledger.mjs): the dashboard is
// served by http.createServer on 127.0.0.1, and each URL is requested sequentially (keep-alive,
// no If-None-Match, so every request renders) a few times to warm up, then `--runs` times
// measured, from sending the request to receiving the whole response. Each round measures every
// URL once more; the table of each round and a summary of all rounds are printed. A URL whose p95
// is 100 ms or more, or a page of 50 KB or more, is flagged (the budgets of issue 7); for those
// (or every URL with --explain) the SQL the view ran is printed with EXPLAIN (ANALYZE, BUFFERS).
//
//   npm run bench:dashboard
//   node bench/dashboard-render.mjs [--records 1000000] [--runs 30] [--warmup 3] [--rounds 2]
//                                   [--keep] [--schema NAME] [--explain] [--only SUBSTRING]
//
// DATABASE_URL defaults to postgresql://postgres@127.0.0.1:5432/test. The ledger's newest records
// are written "now" when it is loaded: a schema reused an hour later has nothing in the last hour.
// Besides the budget URLs, two searches that match nothing (an error text, a worker) are timed:
// the worst case of the text and worker filters. "DB p50" is the median time the request spent
// waiting for PostgreSQL (the union of its statements' intervals: the jobs view runs two at once).
import { existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createLedgerDashboard } from '../dist/dashboard/index.js';
import { openLargeLedger } from './large-ledger.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    schema: { type: 'string' },
    explain: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const BUDGET_MS = 100;
const HTML_BUDGET = 50 * 1024;
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

// The dashboard reads its stylesheet and script from dist/dashboard/static when it is created.
const assets = new URL('../dist/dashboard/static/', import.meta.url);
for (const file of ['style.css', 'dashboard.js']) {
  if (!existsSync(new URL(file, assets))) {
    console.error(
      `dist/dashboard/static/${file} is missing: the build did not copy dashboard/static there (see \`npm run build\`)`,
    );
    process.exit(1);
  }
}

const { orm, schema, dispose } = await openLargeLedger({
  records: Number(values.records),
  schema: values.schema,
  keep: values.keep,
  databaseUrl,
});

// Every statement the dashboard runs goes through this connection: record each one (text,
// parameters, start and end) so that a request's database time and its SQL can be shown.
const connection = orm.em.getConnection();
const execute = connection.execute.bind(connection);
let captured = [];
connection.execute = async (sql, params, ...rest) => {
  const entry = { sql: typeof sql === 'string' ? sql : String(sql), params, start: performance.now(), end: 0 };
  try {
    return await execute(sql, params, ...rest);
  } finally {
    entry.end = performance.now();
    captured.push(entry);
  }
};

/** Length of the union of the statements' intervals (the view runs some in parallel). */
function databaseWall(entries) {
  const spans = entries.map((e) => [e.start, e.end]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = spans[0] ?? [0, 0];
  for (const [start, end] of spans.slice(1)) {
    if (start > to) {
      total += to - from;
      [from, to] = [start, end];
    } else to = Math.max(to, end);
  }
  return total + (to - from);
}

let server;
let port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(path) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        const body = Buffer.concat(chunks);
        resolve({ ms, status: res.statusCode, type: res.headers['content-type'] ?? '', body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function getOk(path) {
  const response = await get(path);
  if (response.status !== 200) {
    throw new Error(`${path} answered ${response.status}: ${response.body.toString('utf8').slice(0, 500)}`);
  }
  return response;
}

const s = `"${schema}"`;
try {
  const dashboard = createLedgerDashboard({ orm, traceUrl: 'https://tracing.example/trace/{traceId}' });
  server = http.createServer(dashboard);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;

  // Values that exist in the ledger, for the filters and the job page.
  const [withAttempts] = await connection.execute(
    `select queue_name, job_id, attempt from ${s}.worker_job_records
    where attempt >= 3 and completed_at is not null order by completed_at desc limit 1`,
  );
  const [errorSample] = await connection.execute(
    `select error_details->>'message' as message from ${s}.worker_job_records
    where error_details is not null order by completed_at desc limit 1`,
  );
  const [workerSample] = await connection.execute(
    `select host_name, service_name from ${s}.worker_job_attempts order by started_at desc limit 1`,
  );
  const [newest] = await connection.execute(
    `select max(completed_at) as newest, extract(epoch from now() - max(completed_at))::int as age_s from ${s}.worker_job_records`,
  );
  const queue = withAttempts.queue_name;
  const jobPath = `/jobs/${encodeURIComponent(withAttempts.queue_name)}/${encodeURIComponent(withAttempts.job_id)}`;
  const errorText = errorSample.message;
  const host = workerSample.host_name;
  const service = workerSample.service_name;
  const first = JSON.parse((await getOk('/api/jobs')).body.toString('utf8'));
  if (first.next === null) throw new Error('/api/jobs has no next page');
  const after = encodeURIComponent(first.next);
  const q = (value) => encodeURIComponent(value);

  const urls = [
    '/?since=1h',
    '/?since=24h',
    '/?since=7d',
    '/?since=30d',
    '/jobs',
    `/jobs?queue=${q(queue)}`,
    '/jobs?status=FAILED&final=true&since=7d',
    `/jobs?error=${q(errorText)}`,
    `/jobs?worker=${q(host)}`,
    `/jobs?worker=${q(service)}`,
    '/jobs?error=ECONNRESET', // text that occurs nowhere: the search reads every record
    '/jobs?worker=no-such-host', // a worker that never ran anything
    `/jobs?after=${after}`,
    jobPath,
    '/failures?since=24h',
    '/failures?since=7d',
    '/failures?since=30d',
    '/failures?all=1',
    '/failures?all=1&since=7d',
    '/failures?all=1&since=30d',
    '/workers?since=24h',
    '/workers?since=30d',
    '/api/queues?since=24h',
    '/api/queues?since=30d',
    '/api/jobs',
    `/api/jobs?error=${q(errorText)}`,
    `/api/jobs?worker=${q(host)}`,
    `/api/jobs${jobPath.slice('/jobs'.length)}`,
    '/api/failures?since=7d',
    '/api/workers?since=30d',
  ].filter((url) => values.only === undefined || url.includes(values.only));

  const cpu = os.cpus();
  console.log(
    `\ndashboard render on ${schema}: newest record ended ${newest.age_s} s ago; ${RUNS} measured runs per URL after ${WARMUP} warm-up, ${ROUNDS} round(s); node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? '?'}, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `job page: ${jobPath} (${withAttempts.attempt} attempts); error filter "${errorText}"; worker filters ${host}, ${service}`,
  );

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const results = new Map(urls.map((url) => [url, []]));
  const lastQueries = new Map();

  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`\nround ${round} of ${ROUNDS} (${new Date().toISOString()}, load ${os.loadavg()[0].toFixed(2)})\n`);
    console.log('| URL | p50 ms | p95 ms | max ms | DB p50 ms | statements | bytes | flags |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const url of urls) {
      captured = [];
      for (let i = 0; i < WARMUP; i++) await getOk(url);
      const times = [];
      const db = [];
      let bytes = 0;
      let html = false;
      let statements = 0;
      for (let i = 0; i < RUNS; i++) {
        captured = [];
        const response = await getOk(url);
        times.push(response.ms);
        db.push(databaseWall(captured));
        bytes = response.body.length;
        html = response.type.startsWith('text/html');
        statements = captured.length;
        lastQueries.set(url, captured.slice());
      }
      captured = [];
      times.sort((a, b) => a - b);
      db.sort((a, b) => a - b);
      const row = {
        p50: pct(times, 50),
        p95: pct(times, 95),
        max: times[times.length - 1],
        db50: pct(db, 50),
        bytes,
        html,
        statements,
      };
      results.get(url).push(row);
      const flags = [row.p95 >= BUDGET_MS ? 'p95 ≥ 100 ms' : '', html && bytes >= HTML_BUDGET ? 'HTML ≥ 50 KB' : '']
        .filter(Boolean)
        .join(', ');
      console.log(
        `| \`${url}\` | ${row.p50.toFixed(1)} | ${row.p95.toFixed(1)} | ${row.max.toFixed(1)} | ${row.db50.toFixed(1)} | ${statements} | ${bytes.toLocaleString('en')}${html ? '' : ' (JSON)'} | ${flags ? `**${flags}**` : ''} |`,
      );
    }
  }

  console.log(`\nsummary of ${ROUNDS} round(s): p95 per round, budget 100 ms (HTML pages under 50 KB)\n`);
  console.log(
    `| URL | ${Array.from({ length: ROUNDS }, (_, i) => `p50 / p95 ms round ${i + 1}`).join(' | ')} | bytes | budget |`,
  );
  console.log(`|---|${'---|'.repeat(ROUNDS)}---|---|`);
  const slow = [];
  for (const [url, rows] of results) {
    const worst = Math.max(...rows.map((row) => row.p95));
    const { bytes, html } = rows[rows.length - 1];
    const misses = [
      worst >= BUDGET_MS ? (rows.every((row) => row.p95 >= BUDGET_MS) ? 'missed' : 'missed in some rounds') : '',
      html && bytes >= HTML_BUDGET ? 'HTML too big' : '',
    ].filter(Boolean);
    if (worst >= BUDGET_MS) slow.push(url);
    console.log(
      `| \`${url}\` | ${rows.map((row) => `${row.p50.toFixed(1)} / ${row.p95.toFixed(1)}`).join(' | ')} | ${bytes.toLocaleString('en')}${html ? '' : ' (JSON)'} | ${misses.length === 0 ? 'met' : `**${misses.join(', ')}**`} |`,
    );
  }

  // Why: the plan of every statement the slow views ran (the last measured request's).
  const explained = values.explain ? urls : slow;
  for (const url of explained) {
    console.log(`\n### ${url}\n`);
    for (const entry of lastQueries.get(url) ?? []) {
      console.log(`statement (${(entry.end - entry.start).toFixed(1)} ms in the request):\n${entry.sql}`);
      console.log(`parameters: ${JSON.stringify(entry.params)}`);
      const plan = await execute(`explain (analyze, buffers) ${entry.sql}`, entry.params, 'all');
      console.log(plan.map((line) => line['QUERY PLAN']).join('\n'));
      console.log('');
    }
  }
} finally {
  agent.destroy();
  if (server !== undefined) await new Promise((resolve) => server.close(resolve));
  await dispose();
}
