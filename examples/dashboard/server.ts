/**
 * The dashboard in an application's own HTTP server, with the retry action
 * enabled for one queue and a header-based permission check.
 *
 *   DATABASE_URL=postgresql://... REDIS_URL=redis://... npx tsx examples/dashboard/server.ts
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { MikroORM } from '@mikro-orm/postgresql';
import { Queue } from 'bullmq';
import { createLedgerDashboard } from '../../dashboard';
import type { DashboardAction } from '../../dashboard';
import { ledgerEntities, migrateLedger } from '../../schema';

/** Replace with your own: who may see the ledger, and who may retry jobs. */
function authorize(req: IncomingMessage, action: DashboardAction): boolean {
  const role = req.headers['x-role'];
  return action.type === 'view' ? role === 'auditor' || role === 'operator' : role === 'operator';
}

async function main(): Promise<void> {
  const orm = await MikroORM.init({
    entities: [...ledgerEntities],
    clientUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  });
  await migrateLedger(orm);
  const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const emails = new Queue('emails', { connection: { host: redis.hostname, port: Number(redis.port || 6379) } });

  const dashboard = createLedgerDashboard({
    orm,
    basePath: '/ledger',
    readOnly: false,
    queues: [emails],
    authorize,
    actor: (req) => String(req.headers['x-user'] ?? 'unknown'),
    traceUrl: process.env.TRACE_URL ?? 'http://127.0.0.1:16686/trace/{traceId}',
    redact: (job) => ({ ...job, metadata: undefined, resultSummary: undefined }),
  });
  const server = http.createServer((req, res) => {
    dashboard(req, res, () => {
      res.statusCode = 404;
      res.end('not the dashboard\n');
    });
  });
  server.listen(4000, '127.0.0.1', () => console.log('dashboard: http://127.0.0.1:4000/ledger/'));
  process.once('SIGINT', () => {
    server.close();
    void Promise.all([emails.close(), orm.close(true)]);
  });
}

void main();
