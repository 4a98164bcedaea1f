/**
 * The dashboard in a real browser: headless Chromium (Debian's package) driven
 * by playwright-core, over a ledger filled by real BullMQ workers through the
 * instrumentation and the LedgerSpanProcessor of this process.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { createLedgerDashboard } from '../../dashboard';
import type { DashboardAction } from '../../dashboard';
import { inPage, launchChromium, serve, watchedContext } from '../helpers/browser';
import type { Served } from '../helpers/browser';
import { startLedgerPipeline } from '../helpers/ledger-pipeline';
import type { LedgerPipeline } from '../helpers/ledger-pipeline';
import { QueueFixture } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

/** Hostile input: markup in a job id, a job name, an error name and an error message. */
const HOSTILE_ID = '<img src=x onerror=window.__pwned=1>';
const HOSTILE_NAME = '<b id="injected-name">bold</b><svg onload="window.__pwned=1"></svg>';
const HOSTILE_ERROR_NAME = '<i id="injected-error">Hostile</i>Error';
const HOSTILE_MESSAGE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">';

/** Anything the hostile values could have become if they were not escaped. */
const INJECTED = '#injected-name, #injected-error, img[src="x"], [onerror], [onload]';

const SCREENSHOTS = path.resolve(__dirname, '../../test-results/screenshots');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** `/jobs/<queue>/<id>`, each part percent-encoded. */
function jobPath(queue: string, jobId: string): string {
  return `/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(jobId)}`;
}

function percent(completed: number, failed: number): string {
  return completed + failed === 0 ? '–' : `${((completed / (completed + failed)) * 100).toFixed(1)}%`;
}

function count(text: string | null): number {
  return Number((text ?? '').trim().replace(/,/g, ''));
}

interface QueueCounts {
  queue_name: string;
  completed: number;
  failed: number;
  retrying: number;
  retried: number;
  pending: number;
  retry_attempts: number;
}

interface AttemptRow {
  attempt: number;
  outcome: string;
  trace_id: string;
  /** As PostgreSQL prints it (raw queries return timestamps as text). */
  started_at: string;
}

interface ActionRow {
  actor: string;
  action: string;
  queue_name: string;
  job_id: string;
  result: string;
  detail: string | null;
  at: string;
}

/** The jobs of the main queue: what each one does and how it must end. */
const MIX = {
  completed: ['ok-1', 'ok-2', 'ok-3', 'ok-4', 'ok-5', 'ok-6'],
  retriedThenCompleted: ['flaky-1', 'flaky-2'],
  failedForGood: ['doomed-1', 'doomed-2'],
  slow: 'slow-1',
} as const;
const SLOW_MS = 400;

describe('the dashboard in a real browser (headless Chromium)', function () {
  this.timeout(30_000);

  let ledger: LedgerPipeline;
  /** The realistic mix; `side`: a second queue (and the one the polling test adds to); `retries`: for the retry action. */
  let mix: QueueFixture;
  let side: QueueFixture;
  let retries: QueueFixture;
  /** Jobs of `retries` that now succeed. */
  const healed = new Set<string>();
  let browser: Browser;
  /** Stands for a tracing backend: records the paths it was asked for. */
  let traceServer: Served;
  const tracePaths: string[] = [];
  /** Read-only (the default), with trace links. */
  let main: Served;
  /** Refreshes every second. */
  let polling: Served;
  /** `authorize` refuses the workers view. */
  let denying: Served;
  /** `readOnly: false` with BullMQ connections: the retry action. */
  let writable: Served;

  const schemaTable = (table: string): string => `"${ledger.db.schema}"."${table}"`;
  const sql = <T>(text: string, params: unknown[] = []): Promise<T[]> =>
    ledger.db.orm.em.getConnection().execute<T[]>(text, params);

  async function queueCounts(): Promise<Map<string, QueueCounts>> {
    const rows = await sql<QueueCounts>(
      `select r.queue_name,
         count(*) filter (where r.status = 'COMPLETED')::int as completed,
         count(*) filter (where r.status = 'FAILED' and r.final)::int as failed,
         count(*) filter (where r.status = 'FAILED' and not r.final)::int as retrying,
         coalesce(sum(r.retry_count + (r.status = 'FAILED' and not r.final)::int), 0)::int as retried,
         count(*) filter (where r.status = 'PENDING')::int as pending,
         (select count(*)::int from ${schemaTable('worker_job_attempts')} a
           where a.queue_name = r.queue_name and a.outcome = 'retry') as retry_attempts
       from ${schemaTable('worker_job_records')} r
       group by r.queue_name order by r.queue_name`,
    );
    return new Map(rows.map((row) => [row.queue_name, row]));
  }

  const attemptsOf = (queue: string, jobId: string): Promise<AttemptRow[]> =>
    sql<AttemptRow>(
      `select attempt, outcome, trace_id, started_at from ${schemaTable('worker_job_attempts')}
       where queue_name = ? and job_id = ? order by started_at, attempts_started`,
      [queue, jobId],
    );

  const actions = (): Promise<ActionRow[]> =>
    sql<ActionRow>(
      `select actor, action, queue_name, job_id, result, detail, at from ${schemaTable('ledger_dashboard_actions')} order by id`,
    );

  async function waitForAttempts(queue: string, total: number): Promise<void> {
    let have = 0;
    await waitFor(
      async () => {
        const [row] = await sql<{ n: number }>(
          `select count(*)::int as n from ${schemaTable('worker_job_attempts')} where queue_name = ?`,
          [queue],
        );
        have = row?.n ?? 0;
        return have >= total;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: `${total} attempts of ${queue} in the ledger (have ${have})` },
    );
  }

  async function rowTexts(page: Page, selector: string): Promise<string[]> {
    return (await page.locator(selector).allTextContents()).map((text) => text.trim());
  }

  /** The module script ran (it shows the refresh selector), so the filters submit on change. */
  async function scriptRan(page: Page): Promise<void> {
    await page.locator('label.refresh').waitFor({ state: 'visible', timeout: 5_000 });
  }

  before(async function () {
    this.timeout(60_000);
    ledger = await startLedgerPipeline('dash_browser');
    mix = new QueueFixture('dash-mix');
    side = new QueueFixture('dash-side');
    retries = new QueueFixture('dash-retry');

    mix.worker(
      async (job) => {
        if (job.id === MIX.slow) await sleep(SLOW_MS); // the job's own work, not a wait of the test
        if (job.name === 'flaky' && job.attemptsMade < 2) throw new Error(`flaky attempt ${job.attemptsMade + 1}`);
        if (job.name === 'doomed') throw new Error('the payment provider refused the card');
        if (job.name === HOSTILE_NAME) {
          const error = new Error(HOSTILE_MESSAGE);
          error.name = HOSTILE_ERROR_NAME;
          throw error;
        }
        return { done: job.id };
      },
      { concurrency: 8 },
    );
    side.worker(async () => 'ok', { concurrency: 4 });
    retries.worker(async (job) => {
      if (!healed.has(job.id ?? '')) throw new Error('the mail server is down');
      return 'sent';
    });

    await Promise.all([
      ...MIX.completed.map((jobId) => mix.queue.add('send-email', { to: jobId }, { jobId })),
      ...MIX.retriedThenCompleted.map((jobId) => mix.queue.add('flaky', {}, { jobId, attempts: 3 })),
      ...MIX.failedForGood.map((jobId) => mix.queue.add('doomed', {}, { jobId, attempts: 3, removeOnFail: false })),
      mix.queue.add('render-report', {}, { jobId: MIX.slow }),
      mix.queue.add(HOSTILE_NAME, {}, { jobId: HOSTILE_ID, attempts: 2, removeOnFail: false }),
      ...['b-ok-1', 'b-ok-2', 'b-ok-3'].map((jobId) => side.queue.add('resize', {}, { jobId })),
      side.queue.add('later', {}, { jobId: 'b-later', delay: 600_000 }),
      ...['retry-me', 'gone'].map((jobId) =>
        retries.queue.add('notify', {}, { jobId, attempts: 2, removeOnFail: false }),
      ),
    ]);
    await Promise.all([
      ledger.waitForRecords(mix.name, 12),
      ledger.waitForRecords(side.name, 3),
      ledger.waitForRecords(side.name, 1, (record) => record.status === 'PENDING'),
      ledger.waitForRecords(retries.name, 2),
      // 6 + 2×3 + 2×3 + 1 + 2 attempts; 3; 2×2.
      waitForAttempts(mix.name, 21),
      waitForAttempts(side.name, 3),
      waitForAttempts(retries.name, 4),
    ]);

    traceServer = await serve((req: IncomingMessage, res: ServerResponse) => {
      tracePaths.push(req.url ?? '');
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>trace</title><p id="trace">${encodeURIComponent(req.url ?? '')}</p>`);
    });
    const traceUrl = `${traceServer.url}/trace/{traceId}`;
    const orm = ledger.db.orm;
    main = await serve(createLedgerDashboard({ orm, traceUrl, title: 'Ledger under test' }));
    polling = await serve(createLedgerDashboard({ orm, refreshSeconds: 1 }));
    denying = await serve(
      createLedgerDashboard({
        orm,
        authorize: (_req, action: DashboardAction) => !(action.type === 'view' && action.view === 'workers'),
      }),
    );
    writable = await serve(
      createLedgerDashboard({
        orm,
        traceUrl,
        readOnly: false,
        queues: [retries.queue, mix.queue],
        authorize: () => true,
        actor: () => 'test-user',
      }),
    );
    browser = await launchChromium();
  });

  after(async function () {
    this.timeout(30_000);
    await browser?.close();
    for (const server of [main, polling, denying, writable, traceServer]) await server?.close();
    for (const fixture of [mix, side, retries]) await fixture?.close();
    await ledger?.close();
  });

  it('fills the ledger from real workers: completions, retries, failures for good, a slow job and hostile values', async () => {
    const records = new Map((await ledger.records(mix.name)).map((record) => [record.jobId, record]));
    expect(records.size).to.equal(12);
    for (const jobId of MIX.completed) {
      expect(records.get(jobId), jobId).to.deep.include({
        status: 'COMPLETED',
        attempt: 1,
        retryCount: 0,
        final: true,
      });
    }
    for (const jobId of MIX.retriedThenCompleted) {
      expect(records.get(jobId), jobId).to.deep.include({
        status: 'COMPLETED',
        attempt: 3,
        retryCount: 2,
        final: true,
      });
    }
    for (const jobId of MIX.failedForGood) {
      expect(records.get(jobId), jobId).to.deep.include({ status: 'FAILED', attempt: 3, retryCount: 2, final: true });
      expect(records.get(jobId)?.errorDetails).to.deep.include({ message: 'the payment provider refused the card' });
      // Still held by BullMQ (removeOnFail: false), so the retry action could use it.
      expect(await (await mix.job(jobId))?.getState()).to.equal('failed');
    }
    expect(records.get(MIX.slow)).to.deep.include({ status: 'COMPLETED', final: true });
    expect(records.get(MIX.slow)?.durationMs).to.be.at.least(SLOW_MS - 50);
    const hostile = records.get(HOSTILE_ID);
    expect(hostile).to.deep.include({ jobName: HOSTILE_NAME, status: 'FAILED', attempt: 2, final: true });
    expect(hostile?.errorDetails).to.deep.include({ name: HOSTILE_ERROR_NAME, message: HOSTILE_MESSAGE });
    expect(await (await mix.job(HOSTILE_ID))?.getState()).to.equal('failed');

    const counts = await queueCounts();
    expect(counts.get(mix.name)).to.deep.include({ completed: 9, failed: 3, retrying: 0, retried: 9, pending: 0 });
    expect(counts.get(side.name)).to.deep.include({ completed: 3, failed: 0, pending: 1 });
    expect(counts.get(retries.name)).to.deep.include({ completed: 0, failed: 2, retried: 2 });
  });

  it('overview: the per-queue numbers equal SQL over worker_job_records', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    const response = await page.goto(`${main.url}/`);
    expect(response?.status()).to.equal(200);
    const expected = await queueCounts();
    const rows = page.locator('#queues tbody tr');
    expect(await rows.count()).to.equal(expected.size);
    expect(expected.size).to.equal(3);
    for (const [queue, sqlCounts] of expected) {
      const row = page.locator(`#queues tbody tr[data-queue="${queue}"]`);
      const cell = async (col: string): Promise<string> =>
        ((await row.locator(`td[data-col="${col}"]`).textContent()) ?? '').trim();
      const shown = {
        completed: count(await cell('completed')),
        failed: count(await cell('failed')),
        retried: count(await cell('retried')),
        retrying: count(await cell('retrying')),
        pending: count(await cell('pending')),
        success: await cell('success'),
      };
      expect(shown, queue).to.deep.equal({
        completed: sqlCounts.completed,
        failed: sqlCounts.failed,
        retried: sqlCounts.retried,
        retrying: sqlCounts.retrying,
        pending: sqlCounts.pending,
        success: percent(sqlCounts.completed, sqlCounts.failed),
      });
      // "Retried attempts" counted the other way: attempts whose outcome was a retry.
      expect(shown.retried, queue).to.equal(sqlCounts.retry_attempts);
    }
    // The main queue, as the mix made it.
    const mixRow = page.locator(`#queues tbody tr[data-queue="${mix.name}"]`);
    expect(await rowTexts(page, `#queues tbody tr[data-queue="${mix.name}"] td[data-col]`)).to.deep.equal([
      '9',
      '3',
      '9',
      '0',
      '0',
      '75.0%',
    ]);
    expect(await mixRow.locator('td').first().textContent()).to.contain(mix.name);
    // Nothing changed while the page was read.
    expect(await queueCounts()).to.deep.equal(expected);
    await context.close();
  });

  it('jobs: a filter round-trips through the URL, the back button and the forward button', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    const start = `${main.url}/jobs?queue=${encodeURIComponent(mix.name)}`;
    await page.goto(start);
    await scriptRan(page);
    const ids = (): Promise<string[]> => rowTexts(page, '#jobs tbody tr td:nth-child(2)');
    const all = (await ids()).sort();
    expect(all).to.have.length(12).and.include(HOSTILE_ID).and.include('ok-1');
    expect(await page.locator('#matches').textContent()).to.match(/^\s*12\s+jobs match\s*$/);

    // The status select submits the form by itself (the script).
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('status') === 'FAILED'),
      page.locator('form.filters select[name="status"]').selectOption('FAILED'),
    ]);
    const filteredUrl = new URL(page.url());
    expect(filteredUrl.pathname).to.equal('/jobs');
    expect(filteredUrl.searchParams.get('queue')).to.equal(mix.name);
    const failedIds = [...MIX.failedForGood, HOSTILE_ID].sort();
    expect((await ids()).sort()).to.deep.equal(failedIds);
    expect(await rowTexts(page, '#jobs tbody tr td:nth-child(4)')).to.deep.equal(['FAILED', 'FAILED', 'FAILED']);
    expect(await page.locator('#matches').textContent()).to.match(/^\s*3\s+jobs match\s*$/);
    expect(await page.locator('form.filters select[name="status"]').inputValue()).to.equal('FAILED');

    await page.goBack();
    expect(page.url()).to.equal(start);
    expect((await ids()).sort()).to.deep.equal(all);

    await page.goForward();
    expect(page.url()).to.equal(filteredUrl.toString());
    expect((await ids()).sort()).to.deep.equal(failedIds);
    await context.close();
  });

  it('jobs: after the back button, the filter form shows the filters of the URL, not the ones left behind', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    const start = `${main.url}/jobs?queue=${encodeURIComponent(mix.name)}`;
    await page.goto(start);
    await scriptRan(page);
    await page.locator('form.filters input[name="job"]').fill('doomed-1');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('status') === 'FAILED'),
      page.locator('form.filters select[name="status"]').selectOption('FAILED'),
    ]);
    expect(await rowTexts(page, '#jobs tbody tr td:nth-child(2)')).to.deep.equal(['doomed-1']);
    await page.goBack();
    expect(page.url()).to.equal(start);
    expect(await page.locator('#jobs tbody tr').count()).to.equal(12);
    // The table is unfiltered, so the form must say so: otherwise it shows filters that are not applied
    // (Chromium restores the form state of a page reached by Back unless the form has autocomplete="off").
    expect({
      status: await page.locator('form.filters select[name="status"]').inputValue(),
      job: await page.locator('form.filters input[name="job"]').inputValue(),
      queue: await page.locator('form.filters input[name="queue"]').inputValue(),
    }).to.deep.equal({ status: '', job: '', queue: mix.name });
    await context.close();
  });

  it('job page: every attempt oldest first, each with a trace link that reaches the tracing backend', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    for (const [jobId, outcomes] of [
      ['doomed-1', ['retry', 'retry', 'failed']],
      ['flaky-1', ['retry', 'retry', 'completed']],
    ] as const) {
      const response = await page.goto(`${main.url}${jobPath(mix.name, jobId)}`);
      expect(response?.status()).to.equal(200);
      const attempts = await attemptsOf(mix.name, jobId);
      expect(attempts.map((attempt) => attempt.outcome)).to.deep.equal(outcomes);
      const starts = attempts.map((attempt) => new Date(attempt.started_at).getTime());
      expect(starts).to.deep.equal([...starts].sort((a, b) => a - b));
      const rows = page.locator('#attempts tbody tr');
      expect(await rows.count()).to.equal(attempts.length);
      expect(await rowTexts(page, '#attempts tbody tr td:nth-child(1)')).to.deep.equal(
        attempts.map((attempt) => String(attempt.attempt)),
      );
      expect(await rowTexts(page, '#attempts tbody tr .outcome')).to.deep.equal(outcomes);
      const links = page.locator('#attempts tbody tr a.trace');
      expect(await links.count()).to.equal(attempts.length);
      for (const [i, attempt] of attempts.entries()) {
        expect(attempt.trace_id).to.match(/^[0-9a-f]{32}$/);
        expect(await links.nth(i).getAttribute('href')).to.equal(`${traceServer.url}/trace/${attempt.trace_id}`);
      }
      // Following the last attempt's link opens the tracing backend at that trace.
      const last = attempts[attempts.length - 1];
      const [popup] = await Promise.all([context.waitForEvent('page'), links.last().click()]);
      await popup.waitForLoadState();
      expect(popup.url()).to.equal(`${traceServer.url}/trace/${last?.trace_id}`);
      expect(await popup.locator('#trace').textContent()).to.equal(encodeURIComponent(`/trace/${last?.trace_id}`));
      expect(tracePaths).to.include(`/trace/${last?.trace_id}`);
      await popup.close();
    }
    await context.close();
  });

  it('shows hostile job ids, names and errors as text and runs nothing, even with the CSP bypassed', async () => {
    for (const bypassCSP of [false, true]) {
      const { context, newPage } = await watchedContext(browser, { bypassCSP });
      const page = await newPage();
      const noInjection = async (where: string): Promise<void> => {
        expect(await inPage(page, 'typeof window.__pwned'), `${where}, bypassCSP ${bypassCSP}`).to.equal('undefined');
        expect(await page.locator(INJECTED).count(), where).to.equal(0);
        expect(await inPage(page, '[...document.scripts].map((s) => s.getAttribute("src"))'), where).to.deep.equal([
          '/static/dashboard.js',
        ]);
      };

      await page.goto(`${main.url}/jobs?queue=${encodeURIComponent(mix.name)}`);
      await scriptRan(page);
      const hostileRow = page.locator('#jobs tbody tr', { hasText: HOSTILE_ID });
      expect(await hostileRow.count()).to.equal(1);
      expect((await hostileRow.locator('td:nth-child(2)').textContent())?.trim()).to.equal(HOSTILE_ID);
      expect((await hostileRow.locator('td:nth-child(3)').textContent())?.trim()).to.equal(HOSTILE_NAME);
      expect((await hostileRow.locator('td.error').textContent())?.trim()).to.equal(
        `${HOSTILE_ERROR_NAME}: ${HOSTILE_MESSAGE}`,
      );
      await noInjection('/jobs');

      // The link to the job (its id percent-encoded in the path) leads to its page.
      await Promise.all([page.waitForURL(/\/jobs\/[^/]+\/[^/]+$/), hostileRow.locator('td:nth-child(2) a').click()]);
      expect(new URL(page.url()).pathname).to.equal(jobPath(mix.name, HOSTILE_ID));
      await scriptRan(page);
      expect(await page.title()).to.equal(`Job ${HOSTILE_ID} · Ledger under test`);
      expect((await page.locator('h1').textContent())?.trim()).to.equal(`Job ${HOSTILE_ID}`);
      const record = await rowTexts(page, '#record dd');
      expect(record[1]).to.equal(HOSTILE_ID);
      expect(record[2]).to.equal(HOSTILE_NAME);
      expect(record).to.include(`${HOSTILE_ERROR_NAME}: ${HOSTILE_MESSAGE}`);
      expect(await page.locator('#attempts tbody tr').count()).to.equal(2);
      expect(await page.locator('#attempts tbody tr details pre').first().textContent()).to.contain(HOSTILE_MESSAGE);
      await noInjection('the job page');

      for (const failures of ['/failures', '/failures?all=1']) {
        await page.goto(`${main.url}${failures}`);
        await scriptRan(page);
        const group = page.locator('#failures tbody tr', { hasText: HOSTILE_ERROR_NAME });
        expect(await group.count(), failures).to.equal(1);
        expect((await group.locator('td:nth-child(2) a').textContent())?.trim()).to.equal(HOSTILE_ERROR_NAME);
        expect((await group.locator('a.sample').allTextContents()).map((text) => text.trim())).to.include(HOSTILE_ID);
        await noInjection(failures);
      }

      // The retry confirmation (a dashboard that may retry this queue) and the page of a job the ledger lacks.
      const confirm = await page.goto(`${writable.url}${jobPath(mix.name, HOSTILE_ID)}/retry`);
      expect(confirm?.status()).to.equal(200);
      expect((await page.locator('#confirm-retry button').textContent())?.trim()).to.equal(`Retry job ${HOSTILE_ID}`);
      expect(await page.locator('main p strong').first().textContent()).to.equal(HOSTILE_ID);
      await noInjection('the retry confirmation');
      const missing = await page.goto(`${main.url}${jobPath(mix.name, `${HOSTILE_ID}${HOSTILE_MESSAGE}`)}`);
      expect(missing?.status()).to.equal(404);
      expect(await page.locator('main .notice.error').textContent()).to.contain(`${HOSTILE_ID}${HOSTILE_MESSAGE}`);
      await noInjection('a job the ledger lacks');

      // The control: markup that does reach the DOM runs when the CSP is bypassed, and is blocked otherwise.
      expect(
        await inPage(
          page,
          `(() => { const s = document.createElement('script'); s.textContent = 'window.__control = 1'; document.head.append(s); return window.__control; })()`,
        ),
      ).to.equal(bypassCSP ? 1 : undefined);
      await context.close();
    }
  });

  it('failures: each group links to distinct sample jobs, also when counting every failed attempt', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    const queue = encodeURIComponent(mix.name);
    for (const [url, failures, jobs] of [
      // Failed for good: the two doomed jobs. Every attempt: their 2×3 attempts and the flaky jobs' 2×2 retries.
      [`/failures?queue=${queue}`, 2, ['doomed-1', 'doomed-2']],
      [`/failures?queue=${queue}&all=1`, 10, ['doomed-1', 'doomed-2', 'flaky-1', 'flaky-2']],
    ] as const) {
      await page.goto(`${main.url}${url}`);
      // The group of plain `Error`s (the hostile job has an error name of its own).
      const group = page
        .locator('#failures tbody tr')
        .filter({ has: page.locator('td:nth-child(2) a', { hasText: /^\s*Error\s*$/ }) });
      expect(await group.count(), url).to.equal(1);
      expect(count(await group.locator('td:nth-child(3)').textContent()), url).to.equal(failures);
      const samples = (await group.locator('a.sample').allTextContents()).map((text) => text.trim());
      expect(samples, url).to.have.length(Math.min(3, jobs.length));
      expect(new Set(samples).size, `${url}: sample jobs ${JSON.stringify(samples)} repeat a job`).to.equal(
        samples.length,
      );
      expect(jobs, url).to.include.members(samples);
    }
    await context.close();
  });

  it('loads every page without a CSP violation or console error, with the security headers', async () => {
    const { context, newPage, problems } = await watchedContext(browser);
    const page = await newPage();
    const urls = [
      '/',
      '/?since=7d',
      '/jobs',
      `/jobs?queue=${encodeURIComponent(mix.name)}&status=FAILED&final=true`,
      jobPath(mix.name, 'doomed-1'),
      jobPath(mix.name, HOSTILE_ID),
      '/failures',
      '/failures?all=1',
      '/workers',
    ];
    for (const url of urls) {
      const response = await page.goto(`${main.url}${url}`);
      expect(response?.status(), url).to.equal(200);
      const headers = response?.headers() ?? {};
      expect(headers['content-type'], url).to.equal('text/html; charset=utf-8');
      expect(headers['content-security-policy'], url)
        .to.contain("default-src 'self'")
        .and.contain("script-src 'self'")
        .and.not.contain('unsafe-inline');
      expect(headers['x-frame-options'], url).to.equal('DENY');
      expect(headers['x-content-type-options'], url).to.equal('nosniff');
      await scriptRan(page);
      expect(await page.locator('link[rel="stylesheet"]').count(), url).to.equal(1);
    }
    const script = await page.request.get(`${main.url}/static/dashboard.js`);
    expect(script.headers()['x-content-type-options']).to.equal('nosniff');
    expect(script.headers()['content-type']).to.match(/^text\/javascript/);
    expect(problems).to.deep.equal({ consoleErrors: [], pageErrors: [], cspViolations: [] });

    // The control: an inline script is refused, and the listener reports it.
    expect(
      await inPage(
        page,
        `(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.head.append(s); return window.__inline; })()`,
      ),
    ).to.equal(undefined);
    await waitFor(() => problems.cspViolations.length > 0, { timeoutMs: 5_000, what: 'the control CSP violation' });
    expect(problems.cspViolations[0]).to.match(/^script-src/);
    await context.close();
  });

  it('works with JavaScript disabled: pages render and the filter form submits with its button', async () => {
    const { context, newPage } = await watchedContext(browser, { javaScriptEnabled: false });
    const page = await newPage();
    for (const [url, table] of [
      ['/', '#queues'],
      ['/jobs', '#jobs'],
      [jobPath(mix.name, 'flaky-1'), '#attempts'],
      ['/failures', '#failures'],
      ['/workers', '#workers'],
    ] as const) {
      const response = await page.goto(`${main.url}${url}`);
      expect(response?.status(), url).to.equal(200);
      expect(await page.locator(`${table} tbody tr`).count(), url).to.be.greaterThan(0);
      // The script did not run: the refresh selector it reveals stays hidden.
      expect(await page.locator('label.refresh').isHidden(), url).to.equal(true);
    }

    await page.goto(`${main.url}/jobs`);
    await page.locator('form.filters input[name="queue"]').fill(mix.name);
    await page.locator('form.filters select[name="status"]').selectOption('FAILED');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('status') === 'FAILED'),
      page.locator('form.filters button[type="submit"]').click(),
    ]);
    expect(new URL(page.url()).searchParams.get('queue')).to.equal(mix.name);
    expect((await rowTexts(page, '#jobs tbody tr td:nth-child(2)')).sort()).to.deep.equal(
      [...MIX.failedForGood, HOSTILE_ID].sort(),
    );

    await page.locator('form.filters input[name="job"]').fill('doomed-1');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('job') === 'doomed-1'),
      page.locator('form.filters button[type="submit"]').click(),
    ]);
    expect(await rowTexts(page, '#jobs tbody tr td:nth-child(2)')).to.deep.equal(['doomed-1']);

    // The range links work without the script too.
    await page.goto(`${main.url}/`);
    await Promise.all([page.waitForURL(/since=7d/), page.locator('p.ranges a', { hasText: '7d' }).click()]);
    expect(await page.locator('p.ranges a[aria-current]').textContent()).to.equal('7d');
    await context.close();
  });

  it('read-only by default: a POST answers 405; authorize refusing a view answers 403', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    await page.goto(`${main.url}/`);
    const post = (url: string): Promise<unknown> =>
      inPage(
        page,
        `fetch(${JSON.stringify(url)}, { method: 'POST', body: new URLSearchParams({ csrf: 'x' }) }).then(async (r) => [r.status, r.headers.get('Allow'), await r.text()])`,
      );
    for (const url of ['/', '/jobs', jobPath(retries.name, 'retry-me') + '/retry']) {
      const [status, allow, body] = (await post(url)) as [number, string, string];
      expect(status, url).to.equal(405);
      expect(allow, url).to.equal('GET, HEAD');
      expect(body, url).to.contain('the dashboard is read-only');
    }
    const deleted = await fetch(`${main.url}/jobs`, { method: 'DELETE' });
    expect(deleted.status).to.equal(405);
    // A GET of the same pages answers (the 405 is about the method).
    expect((await fetch(`${main.url}/jobs`)).status).to.equal(200);

    // A dashboard whose authorize refuses the workers view.
    const refused = await page.goto(`${denying.url}/workers`);
    expect(refused?.status()).to.equal(403);
    expect(await page.locator('main .notice.error').textContent()).to.contain('not allowed to see this view');
    expect(await page.locator('#workers').count()).to.equal(0);
    expect((await fetch(`${denying.url}/api/workers`)).status).to.equal(403);
    const allowed = await page.goto(`${denying.url}/jobs`);
    expect(allowed?.status()).to.equal(200);
    expect(await page.locator('#jobs tbody tr').count()).to.be.greaterThan(0);
    await context.close();
  });

  it('retry action: confirm, BullMQ runs the job again, the ledger and the action log show it; 409 and CSRF refusals', async () => {
    const { context, newPage } = await watchedContext(browser);
    const page = await newPage();
    const retryMe = jobPath(retries.name, 'retry-me');
    expect(await (await retries.job('retry-me'))?.getState()).to.equal('failed');

    // The read-only dashboard offers no retry.
    await page.goto(`${main.url}${retryMe}`);
    expect(await page.locator('#retry').count()).to.equal(0);

    await page.goto(`${writable.url}${retryMe}`);
    expect(await page.locator('#attempts tbody tr').count()).to.equal(2);
    healed.add('retry-me'); // the worker succeeds from now on
    await Promise.all([page.waitForURL(/\/retry$/), page.locator('#retry').click()]);
    expect(await page.locator('#confirm-retry input[name="csrf"]').inputValue()).to.match(/^[A-Za-z0-9_-]{43}$/);
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('action') === 'retried'),
      page.locator('#confirm-retry button[type="submit"]').click(),
    ]);
    expect(new URL(page.url()).pathname).to.equal(retryMe);
    expect(await page.locator('#action-notice').textContent()).to.contain('Retry requested');

    await waitFor(async () => (await (await retries.job('retry-me'))?.getState()) === 'completed', {
      timeoutMs: 10_000,
      what: 'BullMQ to complete the retried job',
    });
    await ledger.waitForRecords(
      retries.name,
      1,
      (record) => record.jobId === 'retry-me' && record.status === 'COMPLETED',
    );
    let attempts: AttemptRow[] = [];
    await waitFor(async () => (attempts = await attemptsOf(retries.name, 'retry-me')).length === 3, {
      what: 'the retried attempt in worker_job_attempts',
    });
    expect(attempts.map((attempt) => attempt.outcome)).to.deep.equal(['retry', 'failed', 'completed']);
    await page.goto(`${writable.url}${retryMe}`);
    expect(await rowTexts(page, '#attempts tbody tr .outcome')).to.deep.equal(['retry', 'failed', 'completed']);
    expect(await page.locator('#retry').count()).to.equal(0); // completed: nothing to retry

    let log = await actions();
    expect(log).to.have.length(1);
    expect(log[0]).to.deep.include({
      actor: 'test-user',
      action: 'retry',
      queue_name: retries.name,
      job_id: 'retry-me',
      result: 'retried',
    });
    expect(Date.now() - new Date(log[0]?.at ?? 0).getTime()).to.be.within(0, 60_000);

    // A job BullMQ no longer holds: 409, logged as a conflict.
    const gone = jobPath(retries.name, 'gone');
    await (await retries.job('gone'))?.remove();
    expect(await retries.job('gone')).to.equal(undefined);
    await page.goto(`${writable.url}${gone}`);
    await Promise.all([page.waitForURL(/\/retry$/), page.locator('#retry').click()]);
    const token = await page.locator('#confirm-retry input[name="csrf"]').inputValue();
    const [conflict] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST'),
      page.locator('#confirm-retry button[type="submit"]').click(),
    ]);
    expect(conflict.status()).to.equal(409);
    await page.waitForLoadState();
    expect(await page.locator('main .notice.error').textContent()).to.contain('BullMQ no longer holds this job');
    log = await actions();
    expect(log).to.have.length(2);
    expect(log[1]).to.deep.include({ actor: 'test-user', job_id: 'gone', result: 'conflict' });

    // Without the CSRF token, or with the token of another job: 403, and nothing is logged.
    const post = (url: string, body: Record<string, string>): Promise<unknown> =>
      inPage(
        page,
        `fetch(${JSON.stringify(url)}, { method: 'POST', body: new URLSearchParams(${JSON.stringify(body)}) }).then((r) => r.status)`,
      );
    expect(await post(`${gone}/retry`, {})).to.equal(403);
    expect(await post(`${retryMe}/retry`, { csrf: token })).to.equal(403);
    // The same token for its own job passes the check (and meets the conflict again).
    expect(await post(`${gone}/retry`, { csrf: token })).to.equal(409);
    log = await actions();
    expect(log.map((entry) => entry.result)).to.deep.equal(['retried', 'conflict', 'conflict']);
    await context.close();
  });

  it('refreshes by polling: unchanged views answer 304, new jobs show up without navigation', async () => {
    const { context, newPage, problems } = await watchedContext(browser);
    const page = await newPage();
    const url = `${polling.url}/`;
    const polls: number[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'fetch' && response.url() === url) polls.push(response.status());
    });
    await page.goto(url);
    await scriptRan(page);
    expect(await page.locator('#refresh').inputValue()).to.equal('1');
    await inPage(page, `window.__sameDocument = 'yes'`);
    const completed = page.locator(`#queues tr[data-queue="${side.name}"] td[data-col="completed"]`);
    const before = (await queueCounts()).get(side.name)?.completed ?? -1;
    expect(count(await completed.textContent())).to.equal(before);
    await waitFor(() => polls.includes(304), { timeoutMs: 5_000, what: 'a poll answered 304' });

    const landed = polls.length;
    await side.queue.add('resize', {}, { jobId: 'b-ok-4' });
    await side.queue.add('resize', {}, { jobId: 'b-ok-5' });
    await ledger.waitForRecords(side.name, 5);
    await waitFor(async () => count(await completed.textContent()) === before + 2, {
      timeoutMs: 8_000,
      what: `the overview to show ${before + 2} completed jobs of ${side.name}`,
    });
    expect((await queueCounts()).get(side.name)?.completed).to.equal(before + 2);
    expect(polls.slice(landed)).to.include(200);
    expect(await inPage(page, 'window.__sameDocument')).to.equal('yes'); // the same document: no navigation
    const updated = polls.length;
    await waitFor(() => polls.slice(updated).includes(304), { timeoutMs: 5_000, what: 'a 304 after the update' });
    expect(problems).to.deep.equal({ consoleErrors: [], pageErrors: [], cspViolations: [] });
    await context.close();
  });

  it('pauses polling while the tab is hidden and polls again when it shows', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const url = `${polling.url}/workers`;
    let started = 0;
    let finished = 0;
    page.on('request', (request) => {
      if (request.resourceType() === 'fetch' && request.url() === url) started += 1;
    });
    page.on('requestfinished', (request) => {
      if (request.resourceType() === 'fetch' && request.url() === url) finished += 1;
    });
    // Chromium reports a 304 answer to fetch() as a failed (aborted) request: it is done too.
    page.on('requestfailed', (request) => {
      if (request.resourceType() === 'fetch' && request.url() === url) finished += 1;
    });
    // Page timers run on a clock the test moves; after each step, the poll it started (if any) completes.
    const advance = async (ms: number): Promise<void> => {
      await page.clock.runFor(ms);
      await waitFor(() => finished === started, {
        timeoutMs: 5_000,
        what: `the polls in flight to finish (${started} started, ${finished} finished)`,
      });
    };
    const setHidden = (hidden: boolean): Promise<unknown> =>
      inPage(
        page,
        `Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
         document.dispatchEvent(new Event('visibilitychange'))`,
      );
    await page.clock.install();
    await page.goto(url);
    await scriptRan(page);
    for (let i = 0; i < 3; i++) await advance(1_100);
    expect(started, 'one poll per second of page time while shown').to.equal(3);
    await setHidden(true);
    for (let i = 0; i < 5; i++) await advance(1_100);
    expect(started, 'no poll while hidden').to.equal(3);
    await setHidden(false);
    await waitFor(() => started === 4, { timeoutMs: 5_000, what: 'a poll as soon as the tab shows' });
    await waitFor(() => finished === started, { timeoutMs: 5_000, what: 'that poll to finish' });
    for (let i = 0; i < 2; i++) await advance(1_100);
    expect(started, 'polling again once a second').to.equal(6);
    await context.close();
  });

  it('saves a full-page screenshot of each page', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    const page = await context.newPage();
    for (const [name, url] of [
      ['overview', '/'],
      ['jobs', '/jobs'],
      ['job', jobPath(mix.name, 'flaky-1')],
      ['failures', '/failures'],
      ['workers', '/workers'],
    ] as const) {
      const response = await page.goto(`${main.url}${url}`);
      expect(response?.status(), name).to.equal(200);
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const png = readFileSync(file);
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), name).to.equal(true);
      expect(png.readUInt32BE(16), `${name} width`).to.equal(1280); // IHDR
      expect(png.readUInt32BE(20), `${name} height`).to.be.at.least(400);
    }
    await context.close();
  });

  it('keeps each page under 50 KB of HTML and the script under 15 KB', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const url of [
      '/',
      '/jobs',
      jobPath(mix.name, 'doomed-1'),
      jobPath(mix.name, HOSTILE_ID),
      '/failures',
      '/failures?all=1',
      '/workers',
    ]) {
      const response = await page.goto(`${main.url}${url}`);
      const size = (await response?.body())?.length ?? Infinity;
      expect(size, url)
        .to.be.above(1000)
        .and.below(50 * 1024);
    }
    const script = await page.request.get(`${main.url}/static/dashboard.js`);
    expect(script.status()).to.equal(200);
    expect((await script.body()).length)
      .to.be.above(500)
      .and.below(15 * 1024);
    await context.close();
  });
});
