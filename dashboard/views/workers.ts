/** `/workers` and its /api twin: per worker identity, attempts, failures and a reliability score. */
import { reliabilityScore } from '../../audit/health';
import type { WorkerStats } from '../../audit/ledger-queries';
import { formatCount, formatDuration, formatPercent, formatTime } from '../format';
import { html } from '../html';
import { href, page, rangeLinks } from './layout';
import { rangeParams } from '../view-params';
import type { ViewContext, ViewResult } from './view';

export interface WorkerView extends WorkerStats {
  /** 95% Wilson lower bound of the attempt success ratio (stalled attempts count as failures). */
  readonly reliability: number;
}

export async function workersView(ctx: ViewContext): Promise<ViewResult> {
  const range = rangeParams(ctx.params, ctx.now);
  const stats = await ctx.queries.workerStats(range.until === undefined ? { since: range.since } : range);
  const workers: WorkerView[] = stats
    .map((worker) => ({ ...worker, reliability: reliabilityScore(worker.attempts - worker.failures, worker.attempts) }))
    .sort((a, b) => a.reliability - b.reliability || b.attempts - a.attempts);
  const base = ctx.page.base;
  return {
    status: 200,
    data: { since: range.since, until: range.until ?? null, workers },
    render: () =>
      page(
        ctx.page,
        'workers',
        'Workers',
        html`${rangeLinks(base, '/workers', range.sinceText, { until: ctx.params.get('until') ?? undefined })}
          <p class="muted">
            Least reliable first. Reliability is the 95% lower bound of the attempt success ratio: few attempts prove
            little.
          </p>
          <table class="data" id="workers">
            <thead>
              <tr>
                <th>Service</th>
                <th>Host</th>
                <th class="n">Pid</th>
                <th class="n">Reliability</th>
                <th class="n">Attempts</th>
                <th class="n">Failures</th>
                <th class="n">Failure rate</th>
                <th class="n">Stalled</th>
                <th class="n">p95</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              ${workers.map(
                (worker) =>
                  html`<tr>
                    <td>
                      ${worker.serviceName === null ? '–' : html`<a href="${href(base, '/jobs', { worker: worker.serviceName, since: range.sinceText })}">${worker.serviceName}</a>`}
                    </td>
                    <td>
                      ${worker.hostName === null ? '–' : html`<a href="${href(base, '/jobs', { worker: worker.hostName, since: range.sinceText })}">${worker.hostName}</a>`}
                    </td>
                    <td class="n">${worker.processPid ?? '–'}</td>
                    <td class="n" data-col="reliability">${formatPercent(worker.reliability)}</td>
                    <td class="n">${formatCount(worker.attempts)}</td>
                    <td class="n">${formatCount(worker.failures)}</td>
                    <td class="n">${formatPercent(worker.failureRate)}</td>
                    <td class="n">${formatCount(worker.stalled)}</td>
                    <td class="n">${formatDuration(worker.p95DurationMs)}</td>
                    <td>${formatTime(worker.lastSeen)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${workers.length === 0 ? html`<p class="notice">No attempts in this range.</p>` : ''}`,
      ),
  };
}
