/** The CLI's connections, failing fast with one line that says what to do. */
import { MikroORM } from '@mikro-orm/postgresql';
import { Queue } from 'bullmq';
import { quoteIdentifier } from '../../exporter/ledger-sql';
import { ledgerEntities } from '../../schema';

/** An error the CLI prints as one line, exiting with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

const DEFAULT_DATABASE_URL = 'postgresql://127.0.0.1:5432/postgres';

export async function openLedgerDatabase(
  databaseUrl: string | undefined,
  schema: string | undefined,
  { requireTables }: { requireTables: boolean },
): Promise<MikroORM> {
  const url = databaseUrl ?? DEFAULT_DATABASE_URL;
  let orm: MikroORM;
  try {
    orm = await MikroORM.init({
      entities: [...ledgerEntities],
      clientUrl: url,
      schema,
      pool: { min: 0, max: 2, acquireTimeoutMillis: 5000 },
      discovery: { warnWhenNoEntities: false },
      debug: false,
    });
  } catch (err) {
    throw new CliError(
      `cannot reach the ledger database at ${redactUrl(url)} (${reason(err)}); is PostgreSQL running? Start it, or pass --database-url / set DATABASE_URL.`,
    );
  }
  try {
    const connection = orm.em.getConnection();
    const table = `${quoteIdentifier(schema ?? 'public')}."worker_job_records"`;
    const rows: unknown = await connection.execute(`select to_regclass(?) is not null as present`, [table], 'all');
    const present =
      Array.isArray(rows) &&
      rows.some((row: unknown) => typeof row === 'object' && row !== null && 'present' in row && row.present === true);
    if (requireTables && !present) {
      throw new CliError(
        `the ledger tables do not exist in schema "${schema ?? 'public'}" of ${redactUrl(url)}; create them with: bullmq-ledger migrate`,
      );
    }
    return orm;
  } catch (err) {
    await orm.close(true).catch(() => undefined);
    if (err instanceof CliError) throw err;
    throw new CliError(
      `cannot reach the ledger database at ${redactUrl(url)} (${reason(err)}); is PostgreSQL running? Start it, or pass --database-url / set DATABASE_URL.`,
    );
  }
}

/** A BullMQ Queue on Redis, checked to answer within a few seconds. */
export async function openQueue(name: string, redisUrl: string | undefined): Promise<Queue> {
  const url = redisUrl ?? 'redis://127.0.0.1:6379';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--redis-url "${url}" is not a URL; use redis://host:6379`, 2);
  }
  const connection = {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    connectTimeout: 3000,
    maxRetriesPerRequest: 1,
    retryStrategy: (): null => null,
  };
  const queue = new Queue(name, { connection });
  queue.on('error', () => undefined); // reported below, once
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.waitUntilReady().then(() => queue.getJobCounts('waiting')),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      }),
    ]);
    return queue;
  } catch (err) {
    await queue.close().catch(() => undefined);
    throw new CliError(
      `cannot reach Redis at ${redactUrl(url)} (${reason(err)}); is it running? Start it, or pass --redis-url / set REDIS_URL.`,
    );
  } finally {
    clearTimeout(timer);
  }
}

function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return reason(err.errors[0]);
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
