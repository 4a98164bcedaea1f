/** `/jobs` and `/api/jobs`: search over every job the ledger holds, keyset-paginated. */
import type { JobSummary } from '../../audit/ledger-queries';
import { formatCount, formatDuration, formatTime } from '../format';
import { html } from '../html';
import type { Html } from '../html';
import { href, jobPath, page } from './layout';
import { encodeCursor, jobSearchParams } from '../view-params';
import { redactJob } from './redaction';
import type { ViewContext, ViewResult } from './view';

const PAGE_SIZE = 50;
const COUNT_CAP = 10_000;
/** Text and worker filters cannot be answered from an index alone: counting stops sooner. */
const COSTLY_COUNT_CAP = 1_000;
const FILTER_NAMES = [
  'queue',
  'status',
  'final',
  'name',
  'job',
  'worker',
  'error',
  'error_name',
  'since',
  'until',
] as const;

export function jobState(job: Pick<JobSummary, 'status' | 'final'>): string {
  return job.status === 'FAILED' && !job.final ? 'RETRYING' : job.status;
}

export async function jobsView(ctx: ViewContext): Promise<ViewResult> {
  const { filters, after } = jobSearchParams(ctx.params, ctx.now);
  const [result, matches] = await Promise.all([
    ctx.queries.searchJobs(filters, { limit: PAGE_SIZE, after }),
    ctx.queries.countJobs(
      filters,
      filters.error !== undefined || filters.worker !== undefined ? COSTLY_COUNT_CAP : COUNT_CAP,
    ),
  ]);
  const jobs = result.jobs.map((job) => redactJob(job, ctx.options.redact));
  const next = result.next === null ? null : encodeCursor(result.next);
  const query: Record<string, string | undefined> = {};
  for (const name of FILTER_NAMES) query[name] = ctx.params.get(name) ?? undefined;
  const base = ctx.page.base;
  return {
    status: 200,
    data: { matches, jobs, next },
    render: () =>
      page(
        ctx.page,
        'jobs',
        'Jobs',
        html`${filterForm(base, query)}
          <p class="matches" id="matches">
            ${matches.capped ? `more than ${formatCount(matches.count)}` : formatCount(matches.count)}
            ${matches.count === 1 && !matches.capped ? 'job matches' : 'jobs match'}
          </p>
          <table class="data" id="jobs">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Job</th>
                <th>Name</th>
                <th>State</th>
                <th class="n">Attempt</th>
                <th class="n">Duration</th>
                <th>Ended</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              ${jobs.map(
                (job) =>
                  html`<tr>
                    <td>${job.queueName}</td>
                    <td><a href="${base}${jobPath(job.queueName, job.jobId)}">${job.jobId}</a></td>
                    <td>${job.jobName}</td>
                    <td><span class="state ${jobState(job).toLowerCase()}">${jobState(job)}</span></td>
                    <td class="n">${job.attempt}</td>
                    <td class="n">${formatDuration(job.durationMs)}</td>
                    <td>${formatTime(job.completedAt)}</td>
                    <td class="error">
                      ${job.errorDetails === null ? '' : `${job.errorDetails.name}: ${job.errorDetails.message.slice(0, 120)}`}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
          <nav class="pages">
            ${after === undefined ? '' : html`<a href="${href(base, '/jobs', query)}">First page</a>`}
            ${next === null ? '' : html`<a rel="next" id="next-page" href="${href(base, '/jobs', { ...query, after: next })}">Next page</a>`}
          </nav>`,
      ),
  };
}

function option(value: string, label: string, current: string | undefined): Html {
  return html`<option value="${value}" ${value === (current ?? '') ? html` selected` : ''}>${label}</option>`;
}

function filterForm(base: string, query: Record<string, string | undefined>): Html {
  const text = (name: string, label: string, placeholder = ''): Html =>
    html`<label>${label} <input name="${name}" value="${query[name] ?? ''}" placeholder="${placeholder}" /></label>`;
  return html`<form class="filters" method="get" autocomplete="off" action="${base}/jobs">
    ${text('queue', 'Queue')}
    <label
      >Status
      <select name="status">
        ${option('', 'any', query.status)}${option('PENDING', 'pending', query.status)}${option('COMPLETED', 'completed', query.status)}${option('FAILED', 'failed', query.status)}
      </select></label
    >
    <label
      >Final
      <select name="final">
        ${option('', 'any', query.final)}${option('true', 'final', query.final)}${option('false', 'will retry / running', query.final)}
      </select></label
    >
    ${text('name', 'Name')}${text('job', 'Job id')}${text('worker', 'Worker', 'service or host')}${text('error', 'Error', 'text in name or message')}
    ${text('since', 'Since', '24h, 7d or a date')}${text('until', 'Until', 'a date')}
    ${query.error_name === undefined ? '' : html`<input type="hidden" name="error_name" value="${query.error_name}" />`}
    <button type="submit">Search</button> <a href="${base}/jobs">Clear</a>
  </form>`;
}
