import { expect } from 'chai';
import { evaluateHealth, LedgerQueries } from '../../audit';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import type { DashboardAction } from '../../dashboard';
import { createLedgerDashboard } from '../../dashboard';
import { migrateLedger } from '../../schema';
import { bullmq } from '../helpers/bullmq';
import { startDashboard } from '../helpers/dashboard-server';
import type { DashboardServer } from '../helpers/dashboard-server';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows, pendingRow } from '../helpers/ledger-rows';
import { uniqueSchema } from '../helpers/postgres';
import { REDIS } from '../helpers/queues';

const HOUR = 3_600_000;

type Outcome = Parameters<typeof attemptRows>[3];

/** Every attempt of one job, ending `agoMs` before now, on `host`. */
function job(
  queue: string,
  jobId: string,
  outcomes: readonly Outcome[],
  { agoMs = HOUR, host = 'host-a', error = { name: 'Error', message: 'boom' } } = {},
): LedgerRows[] {
  const enqueuedAt = Date.now() - agoMs - outcomes.length * 1000 - 1000;
  return outcomes.map((outcome, i) => {
    const rows = attemptRows(queue, jobId, i + 1, outcome, { enqueuedAt });
    const failed = outcome !== 'completed';
    const errorDetails = failed
      ? { ...error, stack: `${error.name}: ${error.message}\n    at work (worker.js:1:1)` }
      : null;
    return {
      record: { ...rows.record, jobName: `${queue.split('-')[1] ?? 'job'}-job`, errorDetails },
      ...(rows.attempt === undefined
        ? {}
        : {
            attempt: { ...rows.attempt, jobName: `${queue.split('-')[1] ?? 'job'}-job`, errorDetails, hostName: host },
          }),
    };
  });
}

async function json(response: Response): Promise<unknown> {
  expect(response.headers.get('content-type')).to.match(/^application\/json/);
  return response.json();
}

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('dashboard over HTTP', () => {
  let db: LedgerDb;
  let queries: LedgerQueries;
  let server: DashboardServer;
  const suffix = uniqueSchema('q').slice(3);
  const emails = `dash-emails-${suffix}`;
  const reports = `dash-reports-${suffix}`;
  const odd = ['a/b', 'x?y#z&w=1', '<b>bold</b>', 'ünï €', '..', '.', '~tilde', '%41'];

  before(async () => {
    db = await openLedgerDb('dashboard_http');
    await migrateLedger(db.orm);
    const rows: LedgerRows[] = [];
    for (let i = 1; i <= 60; i++) rows.push(...job(emails, `c-${i}`, ['completed'], { agoMs: i * 60_000 }));
    for (let i = 1; i <= 5; i++) rows.push(...job(emails, `f-${i}`, ['retry', 'retry', 'failed'], { host: 'host-b' }));
    for (let i = 1; i <= 3; i++) rows.push(...job(emails, `r-${i}`, ['retry', 'retry'], { agoMs: 10 * 60_000 }));
    for (let i = 1; i <= 4; i++) rows.push(pendingRow(emails, `p-${i}`, Date.now() - 30 * 60_000));
    for (const id of odd) rows.push(...job(emails, id, ['retry', 'completed']));
    for (let i = 1; i <= 10; i++) rows.push(...job(reports, `c-${i}`, ['completed'], { agoMs: 3 * HOUR }));
    const typeError = { name: 'TypeError', message: 'stopped at 100%_done' };
    for (let i = 1; i <= 2; i++)
      rows.push(...job(reports, `t-${i}`, ['failed'], { error: typeError, agoMs: 2 * HOUR }));
    // Written in several batches, as the exporter does.
    const writer = new LedgerWriter(db.orm);
    for (let i = 0; i < rows.length; i += 40) await writer.write(prepareBatch(rows.slice(i, i + 40)));
    queries = new LedgerQueries(db.orm);
    server = await startDashboard({ orm: db.orm, traceUrl: 'https://tracing.example/trace/{traceId}?span={spanId}' });
  });
  after(async () => {
    await server.close();
    await db.close();
  });

  it('serves the API twins from the same queries as the query API', async () => {
    const overview = (await json(await server.get('/api/queues?since=24h'))) as {
      since: string;
      health: { until: string; slo: number };
      queues: unknown[];
    };
    const since = new Date(overview.since);
    expect(since.getTime()).to.be.closeTo(Date.now() - 24 * HOUR, 2 * 60_000);
    // The badges are evaluateHealth's judgement at the end of the current minute, over the same range.
    const until = new Date(overview.health.until);
    expect(until.getTime() % 60_000).to.equal(0);
    expect(until.getTime() - Date.now()).to.be.within(0, 60_000);
    expect(overview.health.slo).to.equal(0.99);
    const health = await evaluateHealth({ orm: db.orm }, { since, until });
    expect(overview.queues).to.deep.equal(
      roundTrip(
        (await queries.allQueueStats({ since })).map((stats) => ({
          ...stats,
          health: health.queues.find((queue) => queue.queueName === stats.queueName),
        })),
      ),
    );
    const failures = await json(await server.get(`/api/failures?since=24h&queue=${reports}`));
    expect(failures)
      .to.have.property('groups')
      .that.deep.equals(
        roundTrip(await queries.failureGroups({ since: new Date(Date.now() - 24 * HOUR), queue: reports })),
      );
    const history = await json(await server.get(`/api/jobs/${encodeURIComponent(emails)}/f-1`));
    const expected = await queries.jobHistory(emails, 'f-1');
    expect(history).to.have.nested.property('record.jobId', 'f-1');
    expect(history).to.have.property('attempts').with.length(3);
    expect(roundTrip(expected?.attempts.map((attempt) => attempt.spanId))).to.deep.equal(
      (history as { attempts: Array<{ spanId: string }> }).attempts.map((attempt) => attempt.spanId),
    );
  });

  it('judges the health badges against the slo option, as evaluateHealth does', async () => {
    const lenient = await startDashboard({ orm: db.orm, slo: 0.5 });
    try {
      const overview = (await json(await lenient.get('/api/queues?since=24h'))) as {
        since: string;
        health: { until: string; slo: number };
        queues: Array<{ queueName: string; health: { state: string } }>;
      };
      expect(overview.health.slo).to.equal(0.5);
      const judged = await evaluateHealth({
        orm: db.orm,
        since: new Date(overview.since),
        until: new Date(overview.health.until),
        slo: 0.5,
      });
      const states = (report: { queues: ReadonlyArray<{ queueName: string; state: string }> }) =>
        Object.fromEntries(report.queues.map((queue) => [queue.queueName, queue.state]));
      expect(Object.fromEntries(overview.queues.map((queue) => [queue.queueName, queue.health.state]))).to.deep.equal(
        states(judged),
      );
      // And the objective matters here: at the default 0.99 some queue is judged otherwise.
      const byDefault = await evaluateHealth({ orm: db.orm, since: judged.since, until: judged.until });
      expect(states(byDefault)).to.not.deep.equal(states(judged));
    } finally {
      await lenient.close();
    }
  });

  it('gives the overview the per-queue numbers that SQL over the records gives', async () => {
    const body = (await json(await server.get('/api/queues?since=24h'))) as {
      queues: Array<Record<string, unknown>>;
    };
    const emailsRow = body.queues.find((queue) => queue.queueName === emails);
    expect(emailsRow).to.deep.include({
      completedJobs: 60 + odd.length,
      failedJobs: 5,
      retryingJobs: 3,
      pendingJobs: 4,
      // 2 retries before each final failure, 1 before each odd id's success, retrying jobs: 2 each.
      retriedAttempts: 5 * 2 + odd.length + 3 * 2,
    });
    // 5 of 73 jobs failed for good an hour ago: a burn rate of 6.8x over 6h and 3d, but none over the
    // last 30 minutes, so no page: the ticket condition holds.
    expect(emailsRow?.health).to.deep.include({
      state: 'degraded',
      reason: 'burn rate 6.85x over 3d and 6.85x over 6h (a ticket from 1x)',
    });
    expect(body.queues.find((queue) => queue.queueName === reports)?.health).to.deep.include({ state: 'unknown' });
    const page = await (await server.get('/?since=24h')).text();
    expect(page).to.include(`data-queue="${emails}"`);
    expect(page).to.match(
      /class="badge degraded"\s+title="burn rate 6\.85x over 3d and 6\.85x over 6h \(a ticket from 1x\); objective 99\.0%"\s*>degraded</,
    );
    expect(page).to.match(new RegExp(`data-col="completed">\\s*${60 + odd.length}\\s*<`));
  });

  it('answers an unchanged view with 304 and a changed one with a new ETag', async () => {
    for (const path of ['/?since=24h', '/api/queues?since=24h', '/jobs', '/static/dashboard.js']) {
      const first = await server.get(path);
      const etag = first.headers.get('etag');
      expect(etag, path).to.match(/^"[\w-]+"$/);
      await first.arrayBuffer();
      const again = await server.get(path, { 'If-None-Match': etag ?? '' });
      expect(again.status, path).to.equal(304);
      expect(await again.text(), path).to.equal('');
    }
    const late = `/jobs?queue=dash-late-${suffix}`;
    const before = await server.get(late);
    const etag = before.headers.get('etag') ?? '';
    const page = await before.text();
    expect(page, 'the page carries its own ETag for polling').to.include(`data-etag="${etag.slice(1, -1)}"`);
    await new LedgerWriter(db.orm).write(
      prepareBatch(job(`dash-late-${suffix}`, 'late-arrival', ['completed'], { agoMs: 1000 })),
    );
    const after = await server.get(late, { 'If-None-Match': etag });
    expect(after.status).to.equal(200);
    expect(after.headers.get('etag')).to.not.equal(etag);
    expect(await after.text()).to.include('late-arrival');
  });

  it('pages through every matching job with keyset pages, once each, newest first', async () => {
    const all = await queries.countJobs({ queue: emails });
    const seen: string[] = [];
    const ended: Array<number | null> = [];
    let next: string | null = '';
    let pages = 0;
    while (next !== null) {
      const page = (await json(
        await server.get(`/api/jobs?queue=${encodeURIComponent(emails)}${next === '' ? '' : `&after=${next}`}`),
      )) as {
        jobs: Array<{ jobId: string; completedAt: string | null }>;
        next: string | null;
        matches: { count: number };
      };
      expect(page.matches.count).to.equal(all.count);
      seen.push(...page.jobs.map((row) => row.jobId));
      ended.push(...page.jobs.map((row) => (row.completedAt === null ? null : Date.parse(row.completedAt))));
      next = page.next;
      pages += 1;
    }
    expect(pages).to.equal(Math.ceil(all.count / 50));
    expect(seen).to.have.length(all.count);
    expect(new Set(seen).size).to.equal(all.count);
    // Jobs still to run first, then by the end of their newest attempt, newest first.
    const firstEnded = ended.findIndex((value) => value !== null);
    expect(ended.slice(0, firstEnded).every((value) => value === null)).to.equal(true);
    const times = ended.slice(firstEnded).map(Number);
    expect(times).to.deep.equal([...times].sort((a, b) => b - a));
    expect((await queries.countJobs({ queue: emails }, 5)).capped).to.equal(true);
  });

  it('pages exactly through jobs that ended within the same millisecond (microsecond end times)', async () => {
    const queue = `dash-dense-${suffix}`;
    const end = Date.now() - 5_000;
    // 130 jobs ending within 1.3 ms of each other: a page boundary falls inside a millisecond.
    const rows = Array.from({ length: 130 }, (_, i) => {
      const [attempt] = job(queue, `d-${String(i).padStart(3, '0')}`, ['completed']);
      if (attempt === undefined) throw new Error('no rows');
      const completedAt = end + i * 0.01;
      return {
        record: { ...attempt.record, completedAt },
        ...(attempt.attempt === undefined ? {} : { attempt: { ...attempt.attempt, endedAt: completedAt } }),
      };
    });
    await new LedgerWriter(db.orm).write(prepareBatch(rows));
    const seen: string[] = [];
    let next: string | null = '';
    while (next !== null) {
      const page = (await json(
        await server.get(`/api/jobs?queue=${encodeURIComponent(queue)}${next === '' ? '' : `&after=${next}`}`),
      )) as { jobs: Array<{ jobId: string }>; next: string | null };
      seen.push(...page.jobs.map((row) => row.jobId));
      next = page.next;
    }
    expect(seen).to.deep.equal(rows.map((row) => row.record.jobId).reverse());
  });

  it('filters jobs by each field, as SQL over the records does', async () => {
    const ids = async (query: string): Promise<string[]> => {
      const page = (await json(await server.get(`/api/jobs?${query}`))) as {
        jobs: Array<{ jobId: string }>;
        matches: { count: number };
      };
      expect(page.matches.count, query).to.equal(page.jobs.length);
      return page.jobs.map((row) => row.jobId).sort();
    };
    const q = encodeURIComponent(emails);
    expect(await ids(`queue=${q}&status=FAILED&final=true`)).to.deep.equal(['f-1', 'f-2', 'f-3', 'f-4', 'f-5']);
    expect(await ids(`queue=${q}&status=FAILED&final=false`)).to.deep.equal(['r-1', 'r-2', 'r-3']);
    expect(await ids(`queue=${q}&status=PENDING`)).to.deep.equal(['p-1', 'p-2', 'p-3', 'p-4']);
    expect(await ids(`queue=${q}&job=${encodeURIComponent('x?y#z&w=1')}`)).to.deep.equal(['x?y#z&w=1']);
    expect(await ids(`worker=host-b&queue=${q}`)).to.deep.equal(['f-1', 'f-2', 'f-3', 'f-4', 'f-5']);
    // `%` and `_` in the text match themselves only.
    expect(await ids(`error=${encodeURIComponent('100%_done')}`)).to.deep.equal(['t-1', 't-2']);
    expect(await ids(`error=${encodeURIComponent('100%_dona')}`)).to.deep.equal([]);
    expect(await ids(`error=typeerror&queue=${encodeURIComponent(reports)}`)).to.deep.equal(['t-1', 't-2']);
    // A failure group's exact name: `Error` is not `TypeError`, and not a message that says "error".
    expect(await ids(`error_name=TypeError&status=FAILED&final=true`)).to.deep.equal(['t-1', 't-2']);
    expect(await ids(`error_name=Error&status=FAILED&final=true&queue=${q}`)).to.deep.equal([
      'f-1',
      'f-2',
      'f-3',
      'f-4',
      'f-5',
    ]);
    expect(await ids(`name=reports-job&status=COMPLETED&since=24h`)).to.have.length(10);
    const since = new Date(Date.now() - 150_000).toISOString();
    expect(await ids(`queue=${q}&since=${since}&status=COMPLETED`)).to.deep.equal(['c-1', 'c-2']);
  });

  it('routes job ids with slashes, query characters, markup and unicode, and links to traces', async () => {
    for (const id of odd) {
      const path = `/jobs/${encodeURIComponent(emails)}/${id === '.' || id === '..' || id.startsWith('~') ? '~' : ''}${encodeURIComponent(id)}`;
      const list = await (await server.get(`/jobs?job=${encodeURIComponent(id)}`)).text();
      expect(list, id).to.include(`href="${path.replace(/&/g, '&amp;')}"`);
      const history = (await json(await server.get(`/api${path}`))) as {
        record: { jobId: string };
        attempts: Array<{ traceId: string; spanId: string; traceUrl: string }>;
      };
      expect(history.record.jobId).to.equal(id);
      expect(history.attempts).to.have.length(2);
      for (const attempt of history.attempts) {
        expect(attempt.traceUrl).to.equal(`https://tracing.example/trace/${attempt.traceId}?span=${attempt.spanId}`);
      }
      const html = await (await server.get(path)).text();
      expect(html).to.include('https://tracing.example/trace/');
    }
    const page = await (await server.get(`/jobs?job=${encodeURIComponent('<b>bold</b>')}`)).text();
    expect(page).to.include('&lt;b&gt;bold&lt;/b&gt;');
    expect(page).to.not.include('<b>bold</b>');
    const missing = await server.get(`/jobs/${encodeURIComponent(emails)}/nope`);
    expect(missing.status).to.equal(404);
    expect(await missing.text()).to.include('The ledger has no job nope');
    expect((await server.get(`/api/jobs/${encodeURIComponent(emails)}/nope`)).status).to.equal(404);
  });

  it('answers every other method with 405 while read-only, and sets its security headers everywhere', async () => {
    for (const [method, path] of [
      ['POST', '/'],
      ['PUT', '/api/jobs'],
      ['DELETE', `/jobs/${emails}/f-1`],
      ['POST', `/jobs/${emails}/f-1/retry`],
      ['PATCH', '/nope'],
    ] as const) {
      const response = await fetch(`${server.url}${path}`, { method, redirect: 'manual' });
      expect(response.status, `${method} ${path}`).to.equal(405);
      expect(response.headers.get('allow')).to.equal('GET, HEAD');
    }
    for (const path of ['/', '/api/workers', '/static/style.css', '/nope', '/jobs?since=yesterday-ish']) {
      const response = await server.get(path);
      expect(response.headers.get('content-security-policy'), path).to.include("default-src 'self'");
      expect(response.headers.get('content-security-policy'), path).to.include("script-src 'self'");
      expect(response.headers.get('x-frame-options'), path).to.equal('DENY');
      expect(response.headers.get('x-content-type-options'), path).to.equal('nosniff');
    }
    const head = await fetch(`${server.url}/`, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(await head.text()).to.equal('');
  });

  it('rejects bad query parameters with 400 and what was wrong', async () => {
    for (const [path, message] of [
      ['/?since=yesterday', 'since="yesterday" is neither a duration'],
      ['/api/jobs?status=DONE', 'status="DONE" is not one of PENDING, COMPLETED, FAILED'],
      ['/api/jobs?final=maybe', 'final="maybe" must be true or false'],
      ['/api/jobs?after=garbage', 'after is not a page token from this dashboard'],
      ['/api/jobs?queue=a&queue=b', 'queue is given 2 times'],
      ['/api/failures?all=yes', 'all="yes" must be 1 or 0'],
      ['/jobs/%E0%A4%A/x', 'not a valid percent-encoded path segment'],
      ['/api/queues?since=99999999999d', 'since="99999999999d" reaches before any date'],
      ['/api/jobs?since=99999999999d', 'since="99999999999d" reaches before any date'],
      // A time without an offset would be read in the server's time zone: refused, as in the CLI.
      ['/api/queues?since=2026-12-01T00:00', 'since="2026-12-01T00:00" is neither a duration'],
      ['/api/queues?since=2026-02-30', 'since="2026-02-30" is neither a duration'],
      // What PostgreSQL itself would refuse is a 400 too, not a 503.
      ['/jobs?since=100000000d', 'since="100000000d" reaches before 1970'],
      ['/api/jobs?job=%00', 'job holds a NUL character'],
      ['/jobs/plain/%00', 'holds a NUL character, which no ledger name has'],
      [
        `/api/jobs?after=${Buffer.from('["9999999999999999999","x"]').toString('base64url')}`,
        'after is not a page token',
      ],
    ] as const) {
      const response = await server.get(path);
      expect(response.status, path).to.equal(400);
      expect(await response.text(), path).to.include(message.replace(/"/g, path.startsWith('/api') ? '\\"' : '&quot;'));
    }
  });

  it('asks authorize for each view and answers 403 when it refuses or throws', async () => {
    const asked: DashboardAction[] = [];
    const guarded = await startDashboard({
      orm: db.orm,
      authorize: (req, action) => {
        asked.push(action);
        if (req.headers['x-user'] === 'boom') throw new Error('auth service down');
        return req.headers['x-user'] === 'admin' || (action.type === 'view' && action.view === 'overview');
      },
    });
    try {
      expect((await guarded.get('/')).status).to.equal(200);
      expect((await guarded.get('/workers')).status).to.equal(403);
      expect((await guarded.get('/api/workers')).status).to.equal(403);
      expect((await guarded.get('/api/workers', { 'x-user': 'admin' })).status).to.equal(200);
      expect((await guarded.get('/', { 'x-user': 'boom' })).status).to.equal(403);
      expect(asked).to.deep.include({ type: 'view', view: 'workers', api: true });
      expect(asked).to.deep.include({ type: 'view', view: 'overview', api: false });
    } finally {
      await guarded.close();
    }
  });

  it('mounts under a base path, links within it, and passes other requests to next()', async () => {
    let passed = 0;
    const mounted = await startDashboard({ orm: db.orm, basePath: '/ledger/' }, (dashboard) => (req, res) => {
      dashboard(req, res, () => {
        passed += 1;
        res.end('the host app');
      });
    });
    try {
      const page = await (await mounted.get('/ledger/jobs')).text();
      expect(page).to.include('href="/ledger/static/style.css"');
      expect(page).to.include(`href="/ledger/jobs/${encodeURIComponent(emails)}/`);
      expect(page).to.not.match(/href="\/jobs/);
      expect((await mounted.get('/ledger')).status).to.equal(200);
      expect(await (await mounted.get('/elsewhere')).text()).to.equal('the host app');
      expect(await (await mounted.get('/ledgerx')).text()).to.equal('the host app');
      expect(passed).to.equal(2);
    } finally {
      await mounted.close();
    }
    // At the root, a path that is not one of its pages is the host application's too, whatever the method.
    const atRoot = await startDashboard({ orm: db.orm }, (dashboard) => (req, res) => {
      dashboard(req, res, () => res.end('the host app'));
    });
    try {
      expect(await (await atRoot.get('/health')).text()).to.equal('the host app');
      expect(await (await fetch(`${atRoot.url}/login`, { method: 'POST' })).text()).to.equal('the host app');
      expect((await atRoot.get('/workers')).status).to.equal(200);
    } finally {
      await atRoot.close();
    }
    // Express and Connect strip the mount path from req.url and keep it in req.originalUrl.
    const express = await startDashboard({ orm: db.orm, basePath: '/ledger' }, (dashboard) => (req, res) => {
      const original = req.url ?? '/';
      Object.assign(req, { originalUrl: original, url: original.replace(/^\/ledger/, '') || '/' });
      dashboard(req, res);
    });
    try {
      const response = await express.get('/ledger/workers');
      expect(response.status).to.equal(200);
      expect(await response.text()).to.include('href="/ledger/jobs"');
    } finally {
      await express.close();
    }
  });

  it('applies redact to pages and JSON alike', async () => {
    const redacting = await startDashboard({
      orm: db.orm,
      redact: (shown) => ({
        ...shown,
        errorDetails: shown.errorDetails === null ? null : { name: shown.errorDetails.name, message: '[redacted]' },
      }),
    });
    try {
      const path = `/jobs/${encodeURIComponent(reports)}/t-1`;
      const page = await (await redacting.get(path)).text();
      expect(page).to.include('[redacted]');
      expect(page).to.not.include('100%_done');
      const api = JSON.stringify(await json(await redacting.get(`/api${path}`)));
      expect(api).to.include('[redacted]');
      expect(api).to.not.include('100%_done');
      const list = await (await redacting.get(`/jobs?queue=${encodeURIComponent(reports)}`)).text();
      expect(list).to.not.include('100%_done');
    } finally {
      await redacting.close();
    }
  });

  it('keeps pages under 50 KB and the script under 15 KB, also for a job with many long attempts', async () => {
    const stack = `Error: deep\n${'    at frame (file.js:1:1)\n'.repeat(200)}`;
    const rows = job(
      emails,
      'many',
      Array.from({ length: 80 }, (_, i) => (i < 79 ? 'retry' : 'failed')),
    );
    await new LedgerWriter(db.orm).write(
      prepareBatch(
        rows.map((row) => ({
          record: { ...row.record, errorDetails: { name: 'Error', message: 'x'.repeat(2000), stack } },
          ...(row.attempt === undefined
            ? {}
            : { attempt: { ...row.attempt, errorDetails: { name: 'Error', message: 'x'.repeat(2000), stack } } }),
        })),
      ),
    );
    for (const path of [
      '/',
      '/?since=7d',
      '/jobs',
      '/failures?all=1',
      '/workers',
      `/jobs/${encodeURIComponent(emails)}/many`,
    ]) {
      const body = await (await server.get(path)).arrayBuffer();
      expect(body.byteLength, path).to.be.below(50 * 1024);
    }
    const script = await (await server.get('/static/dashboard.js')).arrayBuffer();
    expect(script.byteLength).to.be.below(15 * 1024);
    const manyPage = await (await server.get(`/jobs/${encodeURIComponent(emails)}/many`)).text();
    expect(manyPage).to.include('50 earlier attempts are in the');
  });

  it('refuses invalid options with errors that say how to fix them', () => {
    const cases: Array<[Parameters<typeof createLedgerDashboard>[0], RegExp]> = [
      [{}, /give `orm`.*or `clientUrl`/],
      [{ orm: db.orm, clientUrl: 'postgresql://x' }, /not both/],
      [
        { orm: db.orm, traceUrl: 'https://tracing.example/trace/' },
        /must be an http\(s\) URL template containing \{traceId\}/,
      ],
      [{ orm: db.orm, traceUrl: 'javascript:alert({traceId})' }, /http\(s\)/],
      [{ orm: db.orm, basePath: 'ledger" onclick="x' }, /basePath/],
      [{ orm: db.orm, basePath: '//evil.example' }, /basePath/],
      [{ orm: db.orm, refreshSeconds: -1 }, /refreshSeconds/],
      [{ orm: db.orm, csrfSecret: 'short' }, /csrfSecret must be a string of 32 characters or more/],
      [{ orm: db.orm, slo: 99 }, /slo must be a number between 0 and 1, exclusive .*got 99/],
    ];
    for (const [options, message] of cases) expect(() => createLedgerDashboard(options)).to.throw(TypeError, message);
  });

  it('accepts a retry confirmation shown by another replica only when they share csrfSecret', async () => {
    const csrfSecret = 'a-secret-every-replica-of-this-dashboard-shares';
    // A BullMQ queue that does not hold the job: past the CSRF check, the answer is 409.
    const queue = new bullmq.Queue(emails, { connection: REDIS });
    const actions = { orm: db.orm, readOnly: false, authorize: () => true, queues: [queue] };
    const [shown, sibling, stranger] = await Promise.all([
      startDashboard({ ...actions, csrfSecret }),
      startDashboard({ ...actions, csrfSecret }),
      startDashboard(actions),
    ]);
    try {
      const job = `/jobs/${encodeURIComponent(emails)}/f-1`;
      const confirmation = await shown.get(`${job}/retry`);
      expect(confirmation.status).to.equal(200);
      const cookie = (confirmation.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const token = /name="csrf" value="([^"]+)"/.exec(await confirmation.text())?.[1] ?? '';
      expect(cookie).to.match(/^bullmq_ledger_csrf=/);
      const post = (to: DashboardServer): Promise<Response> =>
        fetch(`${to.url}${job}/retry`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf: token }),
          redirect: 'manual',
        });
      const accepted = await post(sibling);
      expect(accepted.status).to.equal(409);
      expect(await accepted.text()).to.include('BullMQ no longer holds this job');
      const refused = await post(stranger);
      expect(refused.status).to.equal(403);
      expect(await refused.text()).to.include('confirm the retry again');
    } finally {
      await Promise.all([shown.close(), sibling.close(), stranger.close()]);
      await queue.close();
    }
  });

  it('never links a trace to a non-http URL a traceUrl function returns', async () => {
    const sneaky = await startDashboard({ orm: db.orm, traceUrl: ({ traceId }) => `javascript:alert('${traceId}')` });
    try {
      const history = (await json(await sneaky.get(`/api/jobs/${encodeURIComponent(emails)}/f-1`))) as {
        attempts: Array<{ traceUrl: string | null }>;
      };
      expect(history.attempts.map((attempt) => attempt.traceUrl)).to.deep.equal([null, null, null]);
      expect(await (await sneaky.get(`/jobs/${encodeURIComponent(emails)}/f-1`)).text()).to.not.include('javascript:');
    } finally {
      await sneaky.close();
    }
  });

  it('keeps the overview small for any range: at most 60 bars, and never beyond now', async () => {
    for (const path of ['/?until=9999-12-31', '/?since=1990-01-01', '/?since=2025-01-01&until=2026-12-05']) {
      const response = await server.get(path);
      expect(response.status, path).to.equal(200);
      const body = await response.text();
      expect(body.length, path).to.be.below(50_000);
      const bars = (body.match(/\+\d+ min: /g) ?? []).length;
      expect(bars, path).to.be.within(1, 60);
    }
    const api = await server.get('/api/queues?until=9999-12-31');
    expect(api.status).to.equal(200);
    expect((await api.text()).length).to.be.below(50_000);
  });

  it('answers 503 with what to check when the database is not there, and recovers', async () => {
    const broken = await startDashboard({
      clientUrl: 'postgresql://postgres@127.0.0.1:1/none',
      schema: db.schema,
    });
    try {
      const response = await broken.get('/api/queues');
      expect(response.status).to.equal(503);
      const text = await response.text();
      expect(text).to.include('check that PostgreSQL is running');
      expect(text).to.include('(error ECONNREFUSED)');
    } finally {
      await broken.close();
    }
    const viaUrl = await startDashboard({
      clientUrl: process.env.DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/test',
      schema: db.schema,
    });
    try {
      expect((await viaUrl.get('/api/queues')).status).to.equal(200);
    } finally {
      await viaUrl.close();
    }
  });
});
