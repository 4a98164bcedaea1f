/**
 * The dashboard's one action: retry a failed job that BullMQ still holds.
 * GET shows a confirmation with a CSRF-bound form; POST retries and records
 * who did what, when, and how it ended, in `ledger_dashboard_actions`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import { finishAction, logAction } from './action-log';
import type { ActionEntry } from './action-log';
import type { CsrfGuard } from './csrf';
import { html } from './html';
import type { Html } from './html';
import { crossSite, readForm, redirect } from './http-io';
import { jobPath, page } from './views/layout';
import type { PageContext } from './views/layout';
import type { CheckedOptions } from './options';

export interface RetryContext {
  readonly orm: MikroORM;
  readonly options: CheckedOptions;
  readonly csrf: CsrfGuard;
  readonly page: PageContext;
  readonly actor: string;
}

/** An answer other than a redirect: status and a message for the page or the JSON. */
export interface ActionAnswer {
  readonly status: number;
  readonly message: string;
  readonly body?: Html;
  readonly headers?: Record<string, string>;
}

const target = (queue: string, jobId: string): string => `retry\n${queue}\n${jobId}`;

export function retryConfirmation(req: IncomingMessage, ctx: RetryContext, queue: string, jobId: string): ActionAnswer {
  const existing = ctx.csrf.cookieOf(req);
  const cookie = existing ?? ctx.csrf.newCookie();
  const path = `${ctx.page.base}${jobPath(queue, jobId)}`;
  return {
    status: 200,
    message: 'confirm',
    headers: existing === undefined ? { 'Set-Cookie': ctx.csrf.setCookieHeader(cookie, ctx.page.base) } : {},
    body: page(
      ctx.page,
      'job',
      'Retry this job?',
      html`<p>
          BullMQ will move job <strong>${jobId}</strong> of queue <strong>${queue}</strong> from failed back to waiting,
          and a worker will run it again. The ledger keeps every earlier attempt; this retry is recorded under your
          name.
        </p>
        <form method="post" action="${path}/retry" id="confirm-retry">
          <input type="hidden" name="csrf" value="${ctx.csrf.token(cookie, target(queue, jobId))}" />
          <button type="submit">Retry job ${jobId}</button> <a href="${path}">Cancel</a>
        </form>`,
    ),
  };
}

/** Performs the retry; redirects to the job page on success, otherwise answers with why not. */
export async function performRetry(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RetryContext,
  queueName: string,
  jobId: string,
): Promise<ActionAnswer | undefined> {
  if (crossSite(req)) return { status: 403, message: 'refused: the request came from another site' };
  let form: URLSearchParams;
  try {
    form = await readForm(req);
  } catch {
    return { status: 413, message: 'the form is too large' };
  }
  if (!ctx.csrf.verify(ctx.csrf.cookieOf(req), target(queueName, jobId), form.get('csrf') ?? undefined)) {
    return {
      status: 403,
      message:
        'the confirmation form is missing, expired or from another page; open the job and confirm the retry again',
    };
  }
  const entry = (result: ActionEntry['result'], detail?: string): ActionEntry => ({
    actor: ctx.actor,
    action: 'retry',
    queueName,
    jobId,
    result,
    detail,
  });
  const queue = ctx.options.queues.get(queueName);
  let outcome: ActionEntry;
  try {
    const job = queue === undefined ? undefined : await queue.getJob(jobId);
    const state = job === undefined ? undefined : await job.getState();
    if (queue === undefined) outcome = entry('conflict', 'the dashboard has no BullMQ connection for this queue');
    else if (job === undefined) outcome = entry('conflict', 'BullMQ no longer holds this job (removed or expired)');
    else if (state !== 'failed') outcome = entry('conflict', `the job is ${state ?? 'unknown'} in BullMQ, not failed`);
    else {
      // The row first: a retry never happens without its record.
      const id = await logAction(ctx.orm, entry('requested'));
      try {
        await job.retry('failed');
        outcome = entry('retried');
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // Another user retried it a moment earlier: BullMQ refuses a job no longer failed.
        outcome = /not in the failed state|-3\b/i.test(message) ? entry('conflict', message) : entry('error', message);
      }
      await finishAction(ctx.orm, id, outcome.result, outcome.detail).catch(() => undefined);
      return answerFor(res, ctx, outcome, queueName, jobId);
    }
  } catch (err) {
    outcome = entry('error', err instanceof Error ? err.message : String(err));
  }
  await logAction(ctx.orm, outcome);
  return answerFor(res, ctx, outcome, queueName, jobId);
}

function answerFor(
  res: ServerResponse,
  ctx: RetryContext,
  outcome: ActionEntry,
  queueName: string,
  jobId: string,
): ActionAnswer | undefined {
  if (outcome.result === 'retried') {
    redirect(res, `${ctx.page.base}${jobPath(queueName, jobId)}?action=retried`);
    return undefined;
  }
  return {
    status: outcome.result === 'conflict' ? 409 : 500,
    message: `not retried: ${outcome.detail ?? outcome.result}`,
  };
}
