/** `bullmq-ledger dashboard`: the dashboard on its own HTTP server, behind optional basic auth. */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import { createLedgerDashboard } from '../../dashboard';
import { UsageError } from './arguments';
import { CliError } from './connect';

export interface DashboardServerOptions {
  readonly port: number;
  readonly host: string;
  readonly traceUrl?: string;
  readonly basePath?: string;
  /** From $BULLMQ_LEDGER_DASHBOARD_USER / _PASSWORD. */
  readonly credentials?: { readonly user: string; readonly password: string };
}

export function dashboardCredentials(env: NodeJS.ProcessEnv): DashboardServerOptions['credentials'] {
  const user = env.BULLMQ_LEDGER_DASHBOARD_USER;
  const password = env.BULLMQ_LEDGER_DASHBOARD_PASSWORD;
  if ((user === undefined || user === '') !== (password === undefined || password === '')) {
    throw new UsageError('set both BULLMQ_LEDGER_DASHBOARD_USER and BULLMQ_LEDGER_DASHBOARD_PASSWORD, or neither');
  }
  return user === undefined || user === '' || password === undefined ? undefined : { user, password };
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function authorized(req: IncomingMessage, credentials: NonNullable<DashboardServerOptions['credentials']>): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return (
    colon > 0 &&
    sameText(decoded.slice(0, colon), credentials.user) &&
    sameText(decoded.slice(colon + 1), credentials.password)
  );
}

/** Serves until SIGINT or SIGTERM; `onListening` gets the URL. */
export async function serveDashboard(
  orm: MikroORM,
  options: DashboardServerOptions,
  onListening: (url: string) => void,
): Promise<void> {
  let dashboard;
  try {
    dashboard = createLedgerDashboard({ orm, traceUrl: options.traceUrl, basePath: options.basePath });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^bullmq-ledger dashboard: /, '') : String(err));
  }
  const { credentials } = options;
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (credentials !== undefined && !authorized(req, credentials)) {
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="bullmq-ledger", charset="UTF-8"',
        'Content-Type': 'text/plain',
      });
      res.end('authentication required\n');
      return;
    }
    dashboard(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          err.code === 'EADDRINUSE'
            ? `port ${options.port} on ${options.host} is in use; pick another with --port`
            : `cannot listen on ${options.host}:${options.port} (${err.message})`,
        ),
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  onListening(`http://${host}:${port}${options.basePath ?? ''}/`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.closeAllConnections();
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
