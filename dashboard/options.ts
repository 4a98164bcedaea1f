/** The dashboard's options, checked once at creation with errors that say how to fix them. */
import type { IncomingMessage } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import { DEFAULT_SLO } from '../audit/health-thresholds';
import type { ErrorDetailsColumn } from '../schema/worker-job-record';

/** The pages and their JSON twins. */
export type ViewName = 'overview' | 'jobs' | 'job' | 'failures' | 'workers';

/** What a request wants to do, for `authorize`. */
export type DashboardAction =
  | { readonly type: 'view'; readonly view: ViewName; readonly api: boolean }
  | { readonly type: 'retry'; readonly queue: string; readonly jobId: string };

/** The parts of a job (or of one attempt) that `redact` may change before they are shown. */
export interface RedactableJob {
  readonly queueName: string;
  readonly jobId: string;
  readonly jobName: string | null;
  readonly errorDetails: ErrorDetailsColumn | null;
  readonly resultSummary?: unknown;
  readonly metadata?: unknown;
}

export interface TraceIds {
  readonly traceId: string;
  readonly spanId: string;
}

/** What the retry action needs of a BullMQ queue (a `Queue` from bullmq fits). */
export interface RetryableQueue {
  readonly name: string;
  getJob(jobId: string): Promise<RetryableJob | undefined>;
}

export interface RetryableJob {
  getState(): Promise<string>;
  retry(state?: 'failed' | 'completed'): Promise<void>;
}

export interface LedgerDashboardOptions {
  /** A MikroORM instance on the ledger's database (its `schema` holds the tables). Or give `clientUrl`. */
  readonly orm?: MikroORM;
  /** A PostgreSQL URL; the dashboard opens (and `close()` closes) its own small pool. */
  readonly clientUrl?: string;
  /** With `clientUrl`: the schema of the ledger's tables (default `public`). */
  readonly schema?: string;
  /** Where the dashboard is mounted, e.g. `/ledger` (default: the root). Every link starts with it. */
  readonly basePath?: string;
  /** Default true: only GET and HEAD; anything else answers 405. */
  readonly readOnly?: boolean;
  /** Called for every view and action; false (or a rejection) answers 403. Default: allow every view, refuse actions. */
  readonly authorize?: (req: IncomingMessage, action: DashboardAction) => boolean | Promise<boolean>;
  /** Link from an attempt to its trace: a template with `{traceId}` (and optionally `{spanId}`), or a function. */
  readonly traceUrl?: string | ((ids: TraceIds) => string | undefined);
  /** Changes what is shown of each job and attempt (names, errors, result, metadata), in pages and JSON alike. */
  readonly redact?: (job: RedactableJob) => RedactableJob;
  /** The page title (default "BullMQ ledger"). */
  readonly title?: string;
  /** BullMQ queues the retry action may use, by name (needs `readOnly: false` and `authorize` allowing `retry`). */
  readonly queues?: readonly RetryableQueue[];
  /** Who is acting, for the action log (default: the basic-auth user, else the client address). */
  readonly actor?: (req: IncomingMessage) => string;
  /** Default refresh interval of the pages in seconds, 0 for none (default 10). */
  readonly refreshSeconds?: number;
  /**
   * Signs the retry confirmation's token (32 characters or more). Give every replica behind one
   * address the same secret, so that a confirmation one shows can be posted to another; by default
   * each process makes a random one.
   */
  readonly csrfSecret?: string;
  /**
   * The objective the health badges judge against: the share of ended jobs that must end completed,
   * between 0 and 1 (default 0.99). Give the one the alert rules were generated with (`--slo`).
   */
  readonly slo?: number;
}

export interface CheckedOptions {
  readonly basePath: string;
  readonly readOnly: boolean;
  readonly title: string;
  readonly refreshSeconds: number;
  readonly traceLink: (ids: TraceIds) => string | undefined;
  readonly redact: (job: RedactableJob) => RedactableJob;
  readonly queues: ReadonlyMap<string, RetryableQueue>;
  readonly csrfSecret: string | undefined;
  readonly slo: number;
}

function fail(message: string): never {
  throw new TypeError(`bullmq-ledger dashboard: ${message}`);
}

export function checkOptions(options: LedgerDashboardOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) fail('createLedgerDashboard needs an options object');
  if (options.orm === undefined && options.clientUrl === undefined) {
    fail('give `orm` (a MikroORM instance on the ledger database) or `clientUrl` (postgresql://...)');
  }
  if (options.orm !== undefined && options.clientUrl !== undefined) fail('give `orm` or `clientUrl`, not both');
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && (!/^\/[A-Za-z0-9._~\-/]*$/.test(basePath) || basePath.startsWith('//'))) {
    fail(`basePath "${options.basePath ?? ''}" must be a path such as /ledger (letters, digits, - . _ ~ /)`);
  }
  const refreshSeconds = options.refreshSeconds ?? 10;
  if (!Number.isSafeInteger(refreshSeconds) || refreshSeconds < 0 || refreshSeconds > 3600) {
    fail(`refreshSeconds must be a whole number from 0 to 3600, got ${String(options.refreshSeconds)}`);
  }
  const queues = new Map<string, RetryableQueue>();
  for (const queue of options.queues ?? []) {
    if (typeof queue.name !== 'string' || typeof queue.getJob !== 'function') {
      fail('each of `queues` must be a BullMQ Queue (with a name and getJob)');
    }
    queues.set(queue.name, queue);
  }
  const csrfSecret = options.csrfSecret;
  if (csrfSecret !== undefined && (typeof csrfSecret !== 'string' || csrfSecret.length < 32)) {
    fail('csrfSecret must be a string of 32 characters or more (e.g. openssl rand -base64 32), shared by the replicas');
  }
  const slo = options.slo ?? DEFAULT_SLO;
  if (typeof slo !== 'number' || !(slo > 0 && slo < 1)) {
    fail(
      `slo must be a number between 0 and 1, exclusive (e.g. 0.995, as given to the alert rules), got ${String(slo)}`,
    );
  }
  return {
    basePath,
    readOnly: options.readOnly ?? true,
    title: options.title ?? 'BullMQ ledger',
    refreshSeconds,
    traceLink: traceLinker(options.traceUrl),
    redact: options.redact ?? ((job) => job),
    queues,
    csrfSecret,
    slo,
  };
}

/** Only http(s) links are shown: a template or function cannot turn a trace link into `javascript:`. */
function safeLink(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.toString() : undefined;
  } catch {
    return undefined;
  }
}

function traceLinker(traceUrl: LedgerDashboardOptions['traceUrl']): (ids: TraceIds) => string | undefined {
  if (traceUrl === undefined) return () => undefined;
  if (typeof traceUrl === 'function') {
    return (ids) => {
      try {
        return safeLink(traceUrl(ids));
      } catch {
        return undefined;
      }
    };
  }
  if (typeof traceUrl !== 'string' || !traceUrl.includes('{traceId}') || safeLink(traceUrl) === undefined) {
    fail(
      `traceUrl "${String(traceUrl)}" must be an http(s) URL template containing {traceId}, e.g. https://tracing.example/trace/{traceId}`,
    );
  }
  return (ids) =>
    safeLink(
      traceUrl
        .replaceAll('{traceId}', encodeURIComponent(ids.traceId))
        .replaceAll('{spanId}', encodeURIComponent(ids.spanId)),
    );
}
