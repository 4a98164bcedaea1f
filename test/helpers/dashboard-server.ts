/** A dashboard on a local HTTP server for tests, and a small client for it. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLedgerDashboard } from '../../dashboard';
import type { LedgerDashboard, LedgerDashboardOptions } from '../../dashboard';

export interface DashboardServer {
  readonly url: string;
  readonly dashboard: LedgerDashboard;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export async function startDashboard(
  options: LedgerDashboardOptions,
  wrap?: (dashboard: LedgerDashboard) => http.RequestListener,
): Promise<DashboardServer> {
  const dashboard = createLedgerDashboard(options);
  const server = http.createServer(wrap === undefined ? dashboard : wrap(dashboard));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    dashboard,
    get: (path, headers = {}) => fetch(`${url}${path}`, { headers, redirect: 'manual' }),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await dashboard.close();
    },
  };
}
