/** `/failures` and its /api twin: failures grouped by queue and error name. */
import { formatCount, formatTime } from '../format';
import { html } from '../html';
import { href, jobPath, page, rangeLinks } from './layout';
import { flagParam, queueParam, rangeParams } from '../view-params';
import type { ViewContext, ViewResult } from './view';

export async function failuresView(ctx: ViewContext): Promise<ViewResult> {
  const range = rangeParams(ctx.params, ctx.now);
  const allAttempts = flagParam(ctx.params, 'all');
  const queue = queueParam(ctx.params);
  const groups = await ctx.queries.failureGroups({
    since: range.since,
    until: range.until ?? new Date(ctx.now),
    allAttempts,
    queue,
  });
  const base = ctx.page.base;
  const query = {
    since: range.sinceText,
    until: ctx.params.get('until') ?? undefined,
    queue,
    all: allAttempts ? '1' : undefined,
  };
  return {
    status: 200,
    data: { since: range.since, until: range.until ?? null, allAttempts, groups },
    render: () =>
      page(
        ctx.page,
        'failures',
        allAttempts ? 'Failed attempts' : 'Jobs failed for good',
        html`${rangeLinks(base, '/failures', range.sinceText, query)}
          <p class="toggle">
            ${allAttempts ? html`<a id="toggle-final" href="${href(base, '/failures', { ...query, all: undefined })}">Show jobs failed for good only</a>` : html`<a id="toggle-all" href="${href(base, '/failures', { ...query, all: '1' })}">Show every failed attempt (retries and stalls too)</a>`}
          </p>
          <table class="data" id="failures">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Error</th>
                <th class="n">Count</th>
                <th>First seen</th>
                <th>Last seen</th>
                <th>Sample jobs</th>
              </tr>
            </thead>
            <tbody>
              ${groups.map(
                (group) =>
                  html`<tr>
                    <td>${group.queueName}</td>
                    <td>
                      <a
                        href="${href(base, '/jobs', { queue: group.queueName, status: 'FAILED', final: allAttempts ? undefined : 'true', error_name: group.errorName, since: range.sinceText, until: query.until })}"
                        >${group.errorName}</a
                      >
                    </td>
                    <td class="n">${formatCount(group.failures)}</td>
                    <td>${formatTime(group.firstSeen)}</td>
                    <td>${formatTime(group.lastSeen)}</td>
                    <td>
                      ${group.sampleJobIds.map((jobId) => html`<a class="sample" href="${base}${jobPath(group.queueName, jobId)}">${jobId}</a> `)}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
          ${groups.length === 0 ? html`<p class="notice">No failures in this range.</p>` : ''}`,
      ),
  };
}
