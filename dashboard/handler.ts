/**
 * `createLedgerDashboard`: a plain node:http handler that serves the pages,
 * their JSON twins under /api/, the stylesheet and script, and the retry
 * action. Routing, method and permission checks, ETags and errors live here;
 * what each view shows lives in views/.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import { diag } from '@opentelemetry/api';
import { LedgerQueries } from '../audit/ledger-queries';
import { ledgerEntities } from '../schema';
import { readProperty } from '../src/safe-read';
import { CsrfGuard } from './csrf';
import { send } from './http-io';
import { checkOptions } from './options';
import type { DashboardAction, LedgerDashboardOptions, ViewName } from './options';
import { performRetry, retryConfirmation } from './retry-action';
import { etagOf, loadAssets } from './static-assets';
import { BadRequest } from './view-params';
import { ETAG_PLACEHOLDER, errorPage, fromSegment } from './views/layout';
import type { PageContext } from './views/layout';
import { failuresView } from './views/failures';
import { jobView } from './views/job';
import { jobsView } from './views/jobs';
import { overviewView } from './views/overview';
import type { ViewContext, ViewResult } from './views/view';
import { workersView } from './views/workers';

export type NextFunction = (err?: unknown) => void;

export interface LedgerDashboard {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** Closes the database pool the dashboard opened for `clientUrl` (a given `orm` stays open). */
  close(): Promise<void>;
}

type Route =
  | { readonly kind: 'view'; readonly view: Exclude<ViewName, 'job'>; readonly api: boolean }
  | { readonly kind: 'job'; readonly queue: string; readonly jobId: string; readonly api: boolean }
  | { readonly kind: 'retry'; readonly queue: string; readonly jobId: string }
  | { readonly kind: 'asset'; readonly path: string }
  | { readonly kind: 'none' };

const VIEWS: Readonly<Record<string, Exclude<ViewName, 'job'>>> = {
  '/': 'overview',
  '/api/queues': 'overview',
  '/jobs': 'jobs',
  '/api/jobs': 'jobs',
  '/failures': 'failures',
  '/api/failures': 'failures',
  '/workers': 'workers',
  '/api/workers': 'workers',
};

/** What kind of failure, without its text: a PostgreSQL error code or a connection error code. */
function failureKind(err: unknown): string {
  const code = readProperty(err, 'code');
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `error ${code}` : 'no answer';
}

function decode(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw new BadRequest(`"${segment}" is not a valid percent-encoded path segment`);
  }
  // PostgreSQL text cannot hold NUL (the ledger stores U+FFFD instead): no such queue or job exists.
  if (decoded.includes('\u0000')) throw new BadRequest(`"${segment}" holds a NUL character, which no ledger name has`);
  return fromSegment(decoded);
}

/** Routes a path below the base (still percent-encoded: a job id may hold an encoded `/`). */
export function route(path: string): Route {
  if (path.startsWith('/static/')) return { kind: 'asset', path };
  const view = VIEWS[path === '' ? '/' : path];
  if (view !== undefined) return { kind: 'view', view, api: path.startsWith('/api/') };
  const parts = path.split('/');
  const api = parts[1] === 'api';
  const [, jobs, queue, jobId, action, ...rest] = api ? parts.slice(1) : parts;
  if (
    jobs !== 'jobs' ||
    queue === undefined ||
    jobId === undefined ||
    queue === '' ||
    jobId === '' ||
    rest.length > 0
  ) {
    return { kind: 'none' };
  }
  if (action === undefined) return { kind: 'job', queue: decode(queue), jobId: decode(jobId), api };
  if (action === 'retry' && !api) return { kind: 'retry', queue: decode(queue), jobId: decode(jobId) };
  return { kind: 'none' };
}

export function createLedgerDashboard(options: LedgerDashboardOptions): LedgerDashboard {
  const checked = checkOptions(options);
  const authorize = options.authorize ?? ((_req: IncomingMessage, action: DashboardAction) => action.type === 'view');
  const assets = loadAssets();
  const csrf = new CsrfGuard(checked.csrfSecret);
  const pageContext: PageContext = {
    base: checked.basePath,
    title: checked.title,
    refreshSeconds: checked.refreshSeconds,
  };
  const given = options.orm;
  let opened: Promise<MikroORM> | undefined;
  const orm = (): Promise<MikroORM> => {
    if (given !== undefined) return Promise.resolve(given);
    opened ??= import('@mikro-orm/postgresql').then(({ MikroORM }) =>
      MikroORM.init({
        entities: [...ledgerEntities],
        clientUrl: options.clientUrl,
        schema: options.schema,
        pool: { min: 0, max: 4 },
        discovery: { warnWhenNoEntities: false },
        debug: false,
      }),
    );
    // A failed connection is retried on the next request instead of cached.
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  let queries: { orm: MikroORM; queries: LedgerQueries } | undefined;
  const queriesFor = (instance: MikroORM): LedgerQueries => {
    if (queries?.orm !== instance) queries = { orm: instance, queries: new LedgerQueries(instance) };
    return queries.queries;
  };

  async function allowed(req: IncomingMessage, action: DashboardAction): Promise<boolean> {
    try {
      return (await authorize(req, action)) === true;
    } catch {
      return false; // a failing check refuses
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, next: NextFunction | undefined): Promise<void> {
    const url = new URL(originalUrl(req), 'http://dashboard.invalid');
    const base = checked.basePath;
    if (base !== '' && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      if (next !== undefined) next();
      else answer(req, res, 404, 'not found', false);
      return;
    }
    const path = url.pathname.slice(base.length) || '/';
    const method = req.method ?? 'GET';
    let target: Route;
    try {
      target = route(path);
    } catch (err) {
      answer(req, res, 400, err instanceof Error ? err.message : String(err), path.startsWith('/api/'));
      return;
    }
    if (target.kind === 'none' && next !== undefined) {
      next(); // not a page of the dashboard: the host application's
      return;
    }
    const api = (target.kind === 'view' || target.kind === 'job') && target.api;
    const postable = target.kind === 'retry' && !checked.readOnly;
    if (method !== 'GET' && method !== 'HEAD' && !(method === 'POST' && postable)) {
      answer(req, res, 405, checked.readOnly ? 'the dashboard is read-only' : `${method} is not allowed here`, api, {
        Allow: postable ? 'GET, HEAD, POST' : 'GET, HEAD',
      });
      return;
    }
    if (target.kind === 'none') {
      answer(req, res, 404, 'no such page', api);
      return;
    }
    if (target.kind === 'asset') {
      const asset = assets.get(target.path);
      if (asset === undefined) answer(req, res, 404, 'no such file', false);
      else send(req, res, 200, asset.contentType, asset.body, asset.etag);
      return;
    }
    if (target.kind === 'retry') {
      await retry(req, res, target.queue, target.jobId, method === 'POST');
      return;
    }
    const view: ViewName = target.kind === 'job' ? 'job' : target.view;
    if (!(await allowed(req, { type: 'view', view, api }))) {
      answer(req, res, 403, 'you are not allowed to see this view', api);
      return;
    }
    const instance = await orm();
    const ctx: ViewContext = {
      queries: queriesFor(instance),
      params: url.searchParams,
      now: Date.now(),
      options: checked,
      page: pageContext,
    };
    let result: ViewResult;
    if (target.kind === 'job') {
      const canRetry =
        !checked.readOnly &&
        checked.queues.has(target.queue) &&
        (await allowed(req, { type: 'retry', queue: target.queue, jobId: target.jobId }));
      const notice =
        url.searchParams.get('action') === 'retried'
          ? 'Retry requested: BullMQ moved the job back to waiting.'
          : undefined;
      result = await jobView(ctx, target.queue, target.jobId, { allowed: canRetry, notice });
    } else {
      result = await VIEW_LOADERS[target.view](ctx);
    }
    if (api) {
      const body = JSON.stringify(result.data);
      send(req, res, result.status, 'application/json; charset=utf-8', body, etagOf(body));
      return;
    }
    const rendered = result.render().value;
    const etag = etagOf(rendered);
    send(
      req,
      res,
      result.status,
      'text/html; charset=utf-8',
      rendered.replace(ETAG_PLACEHOLDER, etag.slice(1, -1)),
      etag,
    );
  }

  async function retry(
    req: IncomingMessage,
    res: ServerResponse,
    queue: string,
    jobId: string,
    post: boolean,
  ): Promise<void> {
    if (checked.readOnly) {
      answer(
        req,
        res,
        403,
        'the dashboard is read-only; create it with readOnly: false and queues to allow retries',
        false,
      );
      return;
    }
    if (!(await allowed(req, { type: 'retry', queue, jobId }))) {
      answer(req, res, 403, 'you are not allowed to retry jobs', false);
      return;
    }
    if (!checked.queues.has(queue)) {
      answer(
        req,
        res,
        409,
        `the dashboard has no BullMQ connection for queue "${queue}"; pass it in the queues option`,
        false,
      );
      return;
    }
    // Action pages never poll: a refresh would replace the answer with a new confirmation.
    const ctx = {
      orm: await orm(),
      options: checked,
      csrf,
      page: { ...pageContext, refreshSeconds: 0 },
      actor: actorOf(req),
    };
    const outcome = post ? await performRetry(req, res, ctx, queue, jobId) : retryConfirmation(req, ctx, queue, jobId);
    if (outcome === undefined) return; // redirected
    if (outcome.body !== undefined) {
      send(
        req,
        res,
        outcome.status,
        'text/html; charset=utf-8',
        outcome.body.value.replace(ETAG_PLACEHOLDER, ''),
        undefined,
        outcome.headers,
      );
    } else {
      answer(req, res, outcome.status, outcome.message, false, outcome.headers);
    }
  }

  function actorOf(req: IncomingMessage): string {
    try {
      const actor = options.actor?.(req);
      if (typeof actor === 'string' && actor !== '') return actor;
    } catch {
      // fall back to what the request says
    }
    // An Authorization header the dashboard did not verify names nobody: give `actor` to name users.
    return `anonymous@${req.socket.remoteAddress ?? 'unknown'}`;
  }

  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    message: string,
    api: boolean,
    headers: Record<string, string> = {},
  ): void {
    if (api)
      send(req, res, status, 'application/json; charset=utf-8', JSON.stringify({ error: message }), undefined, headers);
    else
      send(
        req,
        res,
        status,
        'text/html; charset=utf-8',
        errorPage(pageContext, status, message).value.replace(ETAG_PLACEHOLDER, ''),
        undefined,
        headers,
      );
  }

  const dashboard = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => {
    handle(req, res, next).catch((err: unknown) => {
      const api = originalUrl(req).includes('/api/');
      if (err instanceof BadRequest) {
        answer(req, res, 400, err.message, api);
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The details (which may hold the query text) go to the server's log, not to the browser.
      diag.error('bullmq-ledger dashboard: a request failed', err);
      answer(
        req,
        res,
        503,
        `the ledger database did not answer or refused the query (${failureKind(err)}); check that PostgreSQL is running and the ledger is migrated; the details are in the server's log`,
        api,
      );
    });
  };
  return Object.assign(dashboard, {
    close: async (): Promise<void> => {
      const pending = opened;
      opened = undefined;
      if (pending !== undefined) await (await pending).close(true);
    },
  });
}

const VIEW_LOADERS: Readonly<Record<Exclude<ViewName, 'job'>, (ctx: ViewContext) => Promise<ViewResult>>> = {
  overview: overviewView,
  jobs: jobsView,
  failures: failuresView,
  workers: workersView,
};

/** Express and Connect strip a mount path from `url` and keep the whole one in `originalUrl`. */
function originalUrl(req: IncomingMessage): string {
  const original: unknown = Reflect.get(req, 'originalUrl');
  return typeof original === 'string' ? original : (req.url ?? '/');
}
