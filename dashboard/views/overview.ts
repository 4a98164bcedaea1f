/** `/` and `/api/queues`: per-queue outcomes, health, durations and a completion chart over a range. */
import type { QueueStats, TimelineBin } from '../../audit/ledger-queries';
import { evaluateQueueHealth, judgementMoment } from '../../audit/evaluate-health';
import { judgeQueueHealth } from '../../audit/health';
import type { QueueHealth } from '../../audit/health';
import type { TimelineStep } from '../../audit/audit-sql';
import { completionChart } from '../completion-chart';
import { formatCount, formatDuration, formatPercent } from '../format';
import { html } from '../html';
import { href, page, rangeLinks } from './layout';
import { rangeParams } from '../view-params';
import type { ViewContext, ViewResult } from './view';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** At most this many bars, whatever the range: a chart (and the page) stays small for a range of years. */
const MAX_BINS = 60;

/** Bins of about 12 to 60 per chart: the query step and the bin each bar shows. */
export function chartStep(spanMs: number): { step: TimelineStep; binMs: number } {
  if (spanMs <= 3 * HOUR) return { step: '5 minutes', binMs: 5 * MINUTE };
  if (spanMs <= 2.5 * DAY) return { step: 'hour', binMs: HOUR };
  if (spanMs <= 10 * DAY) return { step: 'hour', binMs: 6 * HOUR };
  // One bar more than the span holds when `since` is not on a bin boundary: hence MAX_BINS - 1.
  return { step: 'day', binMs: Math.max(1, Math.ceil(spanMs / ((MAX_BINS - 1) * DAY))) * DAY };
}

/** Sums the query's bins into bars of `binMs` from `since` to `until`, empty ones included. */
export function fillBins(bins: readonly TimelineBin[], since: Date, until: Date, binMs: number): TimelineBin[] {
  const start = Math.floor(since.getTime() / binMs) * binMs;
  const count = Math.max(1, Math.ceil((until.getTime() - start) / binMs));
  const filled = Array.from({ length: count }, (_, i) => ({
    at: new Date(start + i * binMs),
    completedJobs: 0,
    failedJobs: 0,
  }));
  for (const bin of bins) {
    const target = filled[Math.floor((bin.at.getTime() - start) / binMs)];
    if (target === undefined) continue;
    target.completedJobs += bin.completedJobs;
    target.failedJobs += bin.failedJobs;
  }
  return filled;
}

export interface QueueOverview extends QueueStats {
  readonly health: QueueHealth;
}

export async function overviewView(ctx: ViewContext): Promise<ViewResult> {
  const range = rangeParams(ctx.params, ctx.now);
  // The chart ends now at the latest: a far-future `until` must not draw (and query) empty years.
  const until = new Date(Math.min(range.until?.getTime() ?? ctx.now, judgementMoment(ctx.now).getTime()));
  const { step, binMs } = chartStep(Math.max(until.getTime() - range.since.getTime(), 0));
  // Judged at the end of the current minute (like a relative `since`, counted in whole minutes) so that
  // the view, and its ETag, stay the same while the ledger does; the windows still take in every job so far.
  const health = {
    since: range.since,
    until: range.until ?? judgementMoment(ctx.now),
    slo: ctx.options.slo,
  };
  const [stats, bins, judged] = await Promise.all([
    ctx.queries.allQueueStats(range.until === undefined ? { since: range.since } : range),
    ctx.queries.completionTimeline({ since: range.since, until, step }),
    evaluateQueueHealth(ctx.queries, health),
  ]);
  const healthOf = new Map(judged.map((queue) => [queue.queueName, queue]));
  const queues: QueueOverview[] = stats.map((queue) => ({
    ...queue,
    // A queue with no job ending in the windows or the range (only pending ones) has nothing to judge.
    health: healthOf.get(queue.queueName) ?? judgeQueueHealth(queue.queueName, {}, undefined, health.slo),
  }));
  const timeline = fillBins(bins, range.since, until, binMs);
  const slowestQueues = queues
    .filter((queue) => queue.p95DurationMs !== null)
    .sort((a, b) => (b.p95DurationMs ?? 0) - (a.p95DurationMs ?? 0))
    .slice(0, 5)
    .map((queue) => ({
      queueName: queue.queueName,
      p95DurationMs: queue.p95DurationMs,
      p50DurationMs: queue.p50DurationMs,
    }));
  const data = {
    since: range.since,
    until: range.until ?? null,
    health: { until: health.until, slo: health.slo },
    queues,
    timeline: { binMs, bins: timeline },
    slowestQueues,
  };
  const base = ctx.page.base;
  const sinceQuery = { since: range.sinceText, until: ctx.params.get('until') ?? undefined };
  return {
    status: 200,
    data,
    render: () =>
      page(
        ctx.page,
        'overview',
        'Queues',
        html`${rangeLinks(base, '/', range.sinceText, sinceQuery)} ${completionChart(timeline, binMs)}
          <table class="data" id="queues">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Health</th>
                <th class="n">Completed</th>
                <th class="n">Failed for good</th>
                <th class="n">Retried attempts</th>
                <th class="n">Retrying</th>
                <th class="n">Pending</th>
                <th class="n">Success rate</th>
                <th class="n">p50</th>
                <th class="n">p95</th>
              </tr>
            </thead>
            <tbody>
              ${queues.map(
                (queue) =>
                  html`<tr data-queue="${queue.queueName}">
                    <td>
                      <a href="${href(base, '/jobs', { queue: queue.queueName, since: range.sinceText })}"
                        >${queue.queueName}</a
                      >
                    </td>
                    <td>
                      <span
                        class="badge ${queue.health.state}"
                        title="${queue.health.reason}; objective ${formatPercent(health.slo)}"
                        >${queue.health.state}</span
                      >
                    </td>
                    <td class="n" data-col="completed">${formatCount(queue.completedJobs)}</td>
                    <td class="n" data-col="failed">
                      <a
                        href="${href(base, '/jobs', { queue: queue.queueName, status: 'FAILED', final: 'true', since: range.sinceText })}"
                        >${formatCount(queue.failedJobs)}</a
                      >
                    </td>
                    <td class="n" data-col="retried">${formatCount(queue.retriedAttempts)}</td>
                    <td class="n" data-col="retrying">${formatCount(queue.retryingJobs)}</td>
                    <td class="n" data-col="pending">${formatCount(queue.pendingJobs)}</td>
                    <td class="n" data-col="success">${formatPercent(queue.successRate)}</td>
                    <td class="n">${formatDuration(queue.p50DurationMs)}</td>
                    <td class="n">${formatDuration(queue.p95DurationMs)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${queues.length === 0 ? html`<p class="notice">No jobs in this range.</p>` : ''}
          <h2>Slowest queues (p95)</h2>
          <ol id="slowest-queues">
            ${slowestQueues.map(
              (queue) =>
                html`<li>
                  <a href="${href(base, '/jobs', { queue: queue.queueName, since: range.sinceText })}"
                    >${queue.queueName}</a
                  >
                  ${formatDuration(queue.p95DurationMs)}
                  <span class="muted">(p50 ${formatDuration(queue.p50DurationMs)})</span>
                </li>`,
            )}
          </ol>`,
      ),
  };
}
