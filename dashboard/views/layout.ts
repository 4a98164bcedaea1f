/** The page shell every view shares: navigation, range and refresh controls, stylesheet and script. */
import { html } from '../html';
import type { Html } from '../html';
import type { ViewName } from '../options';

export interface PageContext {
  readonly base: string;
  readonly title: string;
  readonly refreshSeconds: number;
}

export const ETAG_PLACEHOLDER = '__LEDGER_ETAG__';

const NAV: ReadonlyArray<readonly [ViewName, string, string]> = [
  ['overview', '/', 'Overview'],
  ['jobs', '/jobs', 'Jobs'],
  ['failures', '/failures', 'Failures'],
  ['workers', '/workers', 'Workers'],
];

/** A link under the dashboard's base path with the given query (empty values left out). */
export function href(base: string, path: string, query: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(key, value);
  const text = search.toString();
  return `${base}${path}${text === '' ? '' : `?${text}`}`;
}

/**
 * One path segment for a queue name or job id, decoded by `fromSegment`.
 * Encoded, so ids may hold `/`, `?`, `#` or markup; `.` and `..` (which URL
 * parsers resolve away, even percent-encoded) and a leading `~` get a `~` prefix.
 */
export function toSegment(value: string): string {
  const encoded = encodeURIComponent(value);
  return value === '.' || value === '..' || value.startsWith('~') ? `~${encoded}` : encoded;
}

/** The inverse of `toSegment`, for a segment already percent-decoded. */
export function fromSegment(decoded: string): string {
  return decoded.startsWith('~') ? decoded.slice(1) : decoded;
}

/** `/jobs/<queue>/<id>`. */
export function jobPath(queue: string, jobId: string): string {
  return `/jobs/${toSegment(queue)}/${toSegment(jobId)}`;
}

export function page(ctx: PageContext, view: ViewName, heading: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${heading} · ${ctx.title}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="${ctx.base}/static/style.css" />
        <script type="module" src="${ctx.base}/static/dashboard.js"></script>
      </head>
      <body data-etag="${ETAG_PLACEHOLDER}" data-refresh="${ctx.refreshSeconds}">
        <header>
          <a class="brand" href="${ctx.base}/">${ctx.title}</a>
          <nav>
            ${NAV.map(([name, path, label]) => html`<a href="${ctx.base}${path}" ${name === view ? html` aria-current="page"` : ''}>${label}</a>`)}
          </nav>
          <label class="refresh" hidden
            >Refresh
            <select id="refresh">
              <option value="0">off</option>
              <option value="5">5 s</option>
              <option value="10">10 s</option>
              <option value="30">30 s</option>
              <option value="60">60 s</option>
            </select></label
          >
        </header>
        <main id="view">
          <h1>${heading}</h1>
          ${body}
        </main>
      </body>
    </html> `;
}

/** The range selector as links (works without JavaScript), keeping the other parameters. */
export function rangeLinks(
  base: string,
  path: string,
  current: string,
  query: Record<string, string | undefined>,
): Html {
  return html`<p class="ranges">
    ${['1h', '24h', '7d', '30d'].map(
      (range) =>
        html`<a
          href="${href(base, path, { ...query, since: range })}"
          ${range === current ? html` aria-current="true"` : ''}
          >${range}</a
        >`,
    )}
  </p>`;
}

export function errorPage(ctx: PageContext, status: number, message: string): Html {
  return page(
    { ...ctx, refreshSeconds: 0 },
    'overview',
    status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Error',
    html`<p class="notice error">${message}</p>
      <p><a href="${ctx.base}/">Back to the overview</a></p>`,
  );
}
