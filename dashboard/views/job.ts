/** `/jobs/<queue>/<id>` and its /api twin: the record and every attempt, oldest first, with trace links. */
import type { JobAttempt } from '../../audit/ledger-queries';
import { attemptTimeline } from '../completion-chart';
import { formatDuration, formatTime } from '../format';
import { html } from '../html';
import type { Html } from '../html';
import { href, jobPath, page } from './layout';
import { jobState } from './jobs';
import { redactAttemptError, redactJob } from './redaction';
import type { ViewContext, ViewResult } from './view';

/** Stacks shown per attempt on the page (the JSON twin has them whole). */
const STACK_SHOWN = 1500;
/** Attempts listed on the page, newest kept (a page stays under 50 KB); the JSON twin lists all. */
const ATTEMPTS_SHOWN = 30;
/** Attempts whose stack the page shows (the newest). */
const STACKS_SHOWN = 3;

/** Long text cut for the page (the JSON twin has it whole). */
function clip(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

export interface AttemptView extends JobAttempt {
  readonly traceUrl: string | null;
}

export async function jobView(
  ctx: ViewContext,
  queue: string,
  jobId: string,
  retry: { readonly allowed: boolean; readonly notice?: string },
): Promise<ViewResult> {
  const history = await ctx.queries.jobHistory(queue, jobId);
  const base = ctx.page.base;
  if (history === undefined) {
    const message = `The ledger has no job ${jobId} in queue ${queue}.`;
    return {
      status: 404,
      data: { error: message },
      render: () =>
        page(
          ctx.page,
          'job',
          'Job not found',
          html`<p class="notice error">${message}</p>
            <p><a href="${href(base, '/jobs', { queue })}">Jobs of ${queue}</a></p>`,
        ),
    };
  }
  const record = redactJob(history.record, ctx.options.redact);
  const attempts: AttemptView[] = history.attempts.map((attempt) => ({
    ...attempt,
    errorDetails: redactAttemptError(history.record, attempt.errorDetails, ctx.options.redact),
    traceUrl: ctx.options.traceLink({ traceId: attempt.traceId, spanId: attempt.spanId }) ?? null,
  }));
  const recordTrace =
    record.traceId === null || record.spanId === null
      ? null
      : (ctx.options.traceLink({ traceId: record.traceId, spanId: record.spanId }) ?? null);
  // Only a job failed for good is in BullMQ's failed set; one that will be retried is delayed.
  const canRetry = retry.allowed && record.status === 'FAILED' && record.final;
  const shown = attempts.slice(-ATTEMPTS_SHOWN);
  const hidden = attempts.length - shown.length;
  return {
    status: 200,
    data: { record: { ...record, traceUrl: recordTrace }, attempts },
    render: () =>
      page(
        ctx.page,
        'job',
        `Job ${record.jobId}`,
        html`${retry.notice === undefined ? '' : html`<p class="notice" id="action-notice">${retry.notice}</p>`}
          <dl class="record" id="record">
            <dt>Queue</dt>
            <dd><a href="${href(base, '/jobs', { queue: record.queueName })}">${record.queueName}</a></dd>
            <dt>Job id</dt>
            <dd>${record.jobId}</dd>
            <dt>Name</dt>
            <dd>${record.jobName}</dd>
            <dt>State</dt>
            <dd>
              <span class="state ${jobState(record).toLowerCase()}">${jobState(record)}</span
              >${record.final ? ' (final)' : ''}
            </dd>
            <dt>Attempt shown</dt>
            <dd>${record.attempt} (${record.retryCount} failed before it)</dd>
            <dt>Enqueued</dt>
            <dd>${formatTime(record.enqueuedAt)}</dd>
            <dt>First started</dt>
            <dd>${formatTime(record.startedAt)}</dd>
            <dt>Last ended</dt>
            <dd>${formatTime(record.completedAt)}</dd>
            <dt>Duration</dt>
            <dd>${formatDuration(record.durationMs)}</dd>
            <dt>Trace</dt>
            <dd>
              ${recordTrace === null ? (record.traceId ?? '–') : html`<a href="${recordTrace}" rel="noreferrer" target="_blank">${record.traceId}</a>`}
            </dd>
            ${
              record.errorDetails === null
                ? ''
                : html`<dt>Error</dt>
                    <dd class="error">${record.errorDetails.name}: ${clip(record.errorDetails.message, 2000)}</dd>`
            }
            ${
              record.resultSummary === null || record.resultSummary === undefined
                ? ''
                : html`<dt>Result</dt>
                    <dd><pre>${JSON.stringify(record.resultSummary, null, 2)}</pre></dd>`
            }
            ${
              record.metadata === null || record.metadata === undefined
                ? ''
                : html`<dt>Metadata</dt>
                    <dd><pre>${JSON.stringify(record.metadata, null, 2)}</pre></dd>`
            }
          </dl>
          ${canRetry ? html`<p><a class="button" id="retry" href="${base}${jobPath(record.queueName, record.jobId)}/retry">Retry this job…</a></p>` : ''}
          <h2>Attempts</h2>
          ${attemptTimeline(shown)}
          ${
            hidden > 0
              ? html`<p class="muted">
                  ${hidden} earlier attempts are in the
                  <a href="${base}/api${jobPath(record.queueName, record.jobId)}">JSON view</a>.
                </p>`
              : ''
          }
          <table class="data" id="attempts">
            <thead>
              <tr>
                <th class="n">#</th>
                <th>Outcome</th>
                <th>Started</th>
                <th>Ended</th>
                <th class="n">Duration</th>
                <th>Worker</th>
                <th>Error</th>
                <th>Trace</th>
              </tr>
            </thead>
            <tbody>
              ${shown.map((attempt, i) => attemptRow(attempt, shown.length - i <= STACKS_SHOWN))}
            </tbody>
          </table>`,
      ),
  };
}

function attemptRow(attempt: AttemptView, withStack: boolean): Html {
  const error = attempt.errorDetails;
  const stack = withStack ? error?.stack : undefined;
  return html`<tr>
    <td class="n">${attempt.attempt}</td>
    <td><span class="outcome ${attempt.outcome}">${attempt.outcome}</span>${attempt.final ? ' (final)' : ''}</td>
    <td>${formatTime(attempt.startedAt)}</td>
    <td>${formatTime(attempt.endedAt)}</td>
    <td class="n">${formatDuration(attempt.durationMs)}</td>
    <td>
      ${attempt.serviceName ?? '–'}
      <span class="muted"
        >${attempt.hostName ?? ''}${attempt.processPid === null ? '' : ` pid ${attempt.processPid}`}</span
      >
    </td>
    <td class="error">
      ${
        error === null
          ? ''
          : html`${error.name}:
            ${clip(error.message, withStack ? 1000 : 200)}${
              stack === undefined
                ? ''
                : html`<details>
                    <summary>stack</summary>
                    <pre>
${stack.length > STACK_SHOWN ? `${stack.slice(0, STACK_SHOWN)}\n… (whole stack in the JSON view)` : stack}</pre>
                  </details>`
            }`
      }
    </td>
    <td>
      ${attempt.traceUrl === null ? html`<code>${attempt.traceId.slice(0, 8)}</code>` : html`<a class="trace" href="${attempt.traceUrl}" rel="noreferrer" target="_blank">${attempt.traceId.slice(0, 8)}…</a>`}
    </td>
  </tr>`;
}
