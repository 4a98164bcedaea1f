/**
 * Where the demo's queue and ledger live, from the environment:
 *
 * - neither REDIS_URL nor DATABASE_URL: an embedded PostgreSQL for both (the
 *   queue on BullMQ's PostgreSQL backend, the ledger in its own schema);
 * - DATABASE_URL: the ledger there, and the queue too unless REDIS_URL is set;
 * - REDIS_URL: the queue on Redis.
 *
 * Each server is checked before anything else starts, and a failure is one
 * line that says what to do.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import type { EmbeddedPostgres } from './embedded-postgres';

export type QueueBackend =
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly connection: { host: string; port: number; password?: string; db: number };
    }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

export interface DemoBackends {
  readonly queue: QueueBackend;
  readonly ledgerUrl: string;
  readonly ledgerSchema: string;
  /** The embedded server, when the demo started one. */
  readonly embedded: EmbeddedPostgres | undefined;
  /** One line: which backends, and where. */
  readonly description: string;
  close(): Promise<void>;
}

export class DemoSetupError extends Error {
  override readonly name = 'DemoSetupError';
}

const LEDGER_SCHEMA = 'bullmq_ledger';
const QUEUE_SCHEMA = 'bullmq';

export async function openBackends(env: NodeJS.ProcessEnv): Promise<DemoBackends> {
  const redisUrl = nonEmpty(env.REDIS_URL);
  const databaseUrl = nonEmpty(env.DATABASE_URL);
  let embedded: EmbeddedPostgres | undefined;
  if (databaseUrl === undefined) {
    try {
      embedded = await startEmbeddedPostgres();
    } catch (err) {
      throw new DemoSetupError(
        `could not start an embedded PostgreSQL (${message(err)}); set DATABASE_URL (and REDIS_URL) to use servers you run instead`,
      );
    }
  } else {
    await checkPostgres(databaseUrl);
  }
  const postgresUrl = databaseUrl ?? embedded?.url ?? '';
  if (redisUrl !== undefined)
    await checkRedis(redisUrl).catch(async (err: unknown) => {
      await embedded?.stop();
      throw err;
    });
  const queue: QueueBackend =
    redisUrl === undefined
      ? { kind: 'postgres', url: postgresUrl, schema: QUEUE_SCHEMA }
      : { kind: 'redis', url: redisUrl, connection: redisConnection(redisUrl) };
  const where =
    embedded === undefined
      ? `PostgreSQL at ${redact(postgresUrl)}`
      : `an embedded PostgreSQL 17 at ${postgresUrl}, removed at exit`;
  const description =
    queue.kind === 'redis'
      ? `queue on Redis at ${redact(queue.url)}; ledger (schema ${LEDGER_SCHEMA}) on ${where}`
      : `queue (BullMQ's PostgreSQL backend, schema ${QUEUE_SCHEMA}) and ledger (schema ${LEDGER_SCHEMA}) on ${where}`;
  return {
    queue,
    ledgerUrl: postgresUrl,
    ledgerSchema: LEDGER_SCHEMA,
    embedded,
    description: `bullmq-ledger demo: ${description}`,
    close: async () => {
      await embedded?.stop();
    },
  };
}

async function checkPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new DemoSetupError(
      `cannot reach PostgreSQL at ${redact(url)} (${message(err)}); start it, or unset DATABASE_URL to use an embedded PostgreSQL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis({
    ...redisConnection(url),
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new DemoSetupError(
      `cannot reach Redis at ${redact(url)} (${message(err)}); start it (redis-server), or unset REDIS_URL to run the queue on PostgreSQL`,
    );
  } finally {
    redis.disconnect();
  }
}

function redisConnection(url: string): { host: string; port: number; password?: string; db: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DemoSetupError(`REDIS_URL "${url}" is not a URL; use redis://host:6379`);
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function message(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return message(err.errors[0]);
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
