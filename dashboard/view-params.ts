/**
 * The query string of every view, checked: a bad value is a 400 that says
 * which parameter was wrong and what it accepts, never a crash or a silent
 * default.
 */
import type { JobCursor, JobFilters } from '../audit/audit-sql';
import { durationMs, ISO_TIME_FORM, isoTime } from '../audit/time-text';

export class BadRequest extends Error {
  override readonly name = 'BadRequest';
}

/** The ranges the pages offer (any duration or ISO date is accepted too). */
export const RANGES = ['1h', '24h', '7d', '30d'] as const;

/**
 * A duration back from `now` (`15m`, `24h`, `7d`), counted from the start of
 * the current minute so that a view (and its ETag) stays the same while the
 * ledger does; or an ISO date, exact.
 */
export function parseTimeParam(name: string, value: string, now: number): Date {
  const ago = durationMs(value);
  if (ago !== undefined) {
    const minute = Math.floor(now / 60_000) * 60_000;
    const date = new Date(minute - ago);
    if (Number.isNaN(date.getTime())) throw new BadRequest(`${name}="${value}" reaches before any date`);
    if (date.getTime() < 0) throw new BadRequest(`${name}="${value}" reaches before 1970`);
    return date;
  }
  const date = isoTime(value);
  if (date === undefined) {
    throw new BadRequest(`${name}="${value}" is neither a duration (1h, 24h, 7d, 30d) nor ${ISO_TIME_FORM}`);
  }
  if (date.getTime() < 0) throw new BadRequest(`${name}="${value}" is before 1970`);
  return date;
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name).filter((value) => value !== '');
  if (values.length > 1) throw new BadRequest(`${name} is given ${values.length} times; give it once`);
  const [value] = values;
  if (value !== undefined && value.length > 500) throw new BadRequest(`${name} is longer than 500 characters`);
  if (value?.includes('\u0000')) throw new BadRequest(`${name} holds a NUL character, which no ledger value has`);
  return value;
}

export interface RangeParams {
  /** As written in the URL, for links and the range selector. */
  readonly sinceText: string;
  readonly since: Date;
  readonly until?: Date;
}

export function rangeParams(params: URLSearchParams, now: number, defaultSince = '24h'): RangeParams {
  const sinceText = single(params, 'since') ?? defaultSince;
  const since = parseTimeParam('since', sinceText, now);
  const untilText = single(params, 'until');
  const until = untilText === undefined ? undefined : parseTimeParam('until', untilText, now);
  if (until !== undefined && until.getTime() < since.getTime()) throw new BadRequest('since is after until');
  if (since.getTime() > now) throw new BadRequest('since is in the future');
  return until === undefined ? { sinceText, since } : { sinceText, since, until };
}

export function queueParam(params: URLSearchParams): string | undefined {
  return single(params, 'queue');
}

const STATUSES = ['PENDING', 'COMPLETED', 'FAILED'] as const;

export interface JobSearchParams {
  readonly filters: JobFilters;
  readonly after?: JobCursor;
}

export function jobSearchParams(params: URLSearchParams, now: number): JobSearchParams {
  const statusText = single(params, 'status');
  const status = STATUSES.find((candidate) => candidate === statusText?.toUpperCase());
  if (statusText !== undefined && status === undefined) {
    throw new BadRequest(`status="${statusText}" is not one of ${STATUSES.join(', ')}`);
  }
  const finalText = single(params, 'final');
  if (finalText !== undefined && finalText !== 'true' && finalText !== 'false') {
    throw new BadRequest(`final="${finalText}" must be true or false`);
  }
  const sinceText = single(params, 'since');
  const untilText = single(params, 'until');
  const afterText = single(params, 'after');
  const filters: JobFilters = {
    queue: single(params, 'queue'),
    status,
    final: finalText === undefined ? undefined : finalText === 'true',
    name: single(params, 'name'),
    jobId: single(params, 'job'),
    worker: single(params, 'worker'),
    error: single(params, 'error'),
    errorName: single(params, 'error_name'),
    since: sinceText === undefined ? undefined : parseTimeParam('since', sinceText, now),
    until: untilText === undefined ? undefined : parseTimeParam('until', untilText, now),
  };
  return afterText === undefined ? { filters } : { filters, after: decodeCursor(afterText) };
}

/** The cursor as an opaque URL-safe token. */
export function encodeCursor(cursor: JobCursor): string {
  return Buffer.from(JSON.stringify([cursor.completedAtMicros, cursor.id])).toString('base64url');
}

export function decodeCursor(token: string): JobCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const micros: unknown = parsed[0];
    const id: unknown = parsed[1];
    if (typeof id === 'string' && (micros === null || (typeof micros === 'string' && /^-?\d{1,18}$/.test(micros)))) {
      return { completedAtMicros: micros, id };
    }
  }
  throw new BadRequest('after is not a page token from this dashboard; go back to the first page');
}

export function flagParam(params: URLSearchParams, name: string): boolean {
  const value = single(params, name);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new BadRequest(`${name}="${value}" must be 1 or 0`);
}
