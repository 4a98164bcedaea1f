import { createHash } from 'node:crypto';
import os from 'node:os';
import type { MikroORM } from '@mikro-orm/core';
import { context } from '@opentelemetry/api';
import { MikroORM as PostgreSqlMikroORM } from '@mikro-orm/postgresql';
import { ledgerEntities } from '../schema';
import { migrateLedger } from '../schema/migrate';
import { prepareBatch } from './ledger-batch';
import { spanToLedgerRows } from './ledger-rows';
import type { LedgerRows, WorkerIdentity } from './ledger-rows';
import { LedgerWriter } from './ledger-writer';
import { ExportResultCode, suppressTracing } from './otel-sdk-contract';
import type { ExportResult, FinishedSpan } from './otel-sdk-contract';

export type LedgerSpanExporterOptions = (
  | {
      /** The application's MikroORM instance (PostgreSQL), whose config gives the ledger's schema. */
      readonly orm: MikroORM;
    }
  | {
      /** A PostgreSQL connection string; the exporter creates and owns its MikroORM instance. */
      readonly clientUrl: string;
      /** Schema of the ledger tables. @defaultValue `'public'` */
      readonly schema?: string;
      /** Connections of the exporter's own pool (keep it small: every worker process has one). @defaultValue `2` */
      readonly poolSize?: number;
      /** Apply the ledger's migrations when connecting. @defaultValue `false` */
      readonly migrate?: boolean;
    }
) & {
  /** A write that takes longer is treated as failed (and retried by the processor). @defaultValue `30000` */
  readonly writeTimeoutMs?: number;
};

/** Where rows go: what LedgerSpanProcessor needs of an exporter. */
export interface LedgerRowSink {
  writeRows(rows: readonly LedgerRows[]): Promise<void>;
  /** A name for the database the rows go to, so that a spool is replayed into the same one. */
  ledgerIdentity(): string;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** This process, for attempts whose span resource has no host or pid. */
export const THIS_PROCESS: WorkerIdentity = { hostName: os.hostname(), processPid: process.pid };

/**
 * Writes job spans into the ledger tables (`worker_job_records`,
 * `worker_job_attempts`). Use it behind a {@link LedgerSpanProcessor}, which
 * sees every job whatever the sampling, batches, retries and spools; or, as a
 * plain `SpanExporter`, behind any processor (then only sampled spans arrive).
 */
export class LedgerSpanExporter implements LedgerRowSink {
  /** The connection; for an exporter that owns its ORM, made again after a failed attempt. */
  private ready: Promise<Connected> | undefined;
  private readonly connect: () => Promise<Connected>;
  private readonly owned: boolean;
  private readonly identity: string;
  private readonly writeTimeoutMs: number;
  private readonly inFlight = new Set<Promise<void>>();
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: LedgerSpanExporterOptions) {
    this.writeTimeoutMs = options.writeTimeoutMs ?? 30_000;
    if ('orm' in options) {
      if (typeof options.orm !== 'object' || options.orm === null) {
        throw new TypeError('bullmq-ledger: LedgerSpanExporter needs { orm } (a MikroORM instance) or { clientUrl }.');
      }
      this.owned = false;
      const schema = options.orm.config.get('schema') ?? 'public';
      this.identity = `${options.orm.config.getClientUrl(true)}/${schema}`;
      const connected = { orm: options.orm, writer: new LedgerWriter(options.orm) };
      this.connect = () => Promise.resolve(connected);
    } else {
      if (typeof options.clientUrl !== 'string' || options.clientUrl === '') {
        throw new TypeError(
          'bullmq-ledger: LedgerSpanExporter needs { clientUrl: "postgresql://user@host:5432/db" } or { orm }.',
        );
      }
      this.owned = true;
      this.identity = `${redactPassword(options.clientUrl)}/${options.schema ?? 'public'}`;
      // Connecting and migrating are its own database I/O too: never traced (see LedgerWriter).
      this.connect = () => context.with(suppressTracing(context.active()), () => openOwnOrm(options));
    }
  }

  /** `SpanExporter.export`: maps the job spans among `spans` to rows and writes them; calls back once. */
  export(spans: readonly FinishedSpan[], resultCallback: (result: ExportResult) => void): void {
    let rows: LedgerRows[];
    try {
      rows = spans.flatMap((span) => spanToLedgerRows(span, THIS_PROCESS) ?? []);
    } catch (err) {
      resultCallback({ code: ExportResultCode.FAILED, error: asError(err) });
      return;
    }
    this.writeRows(rows).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (err: unknown) => resultCallback({ code: ExportResultCode.FAILED, error: asError(err) }),
    );
  }

  writeRows(rows: readonly LedgerRows[]): Promise<void> {
    if (this.shutdownPromise !== undefined) {
      return Promise.reject(new Error('bullmq-ledger: LedgerSpanExporter is shut down'));
    }
    const write = this.write(rows);
    this.inFlight.add(write);
    const forget = (): void => {
      this.inFlight.delete(write);
    };
    write.then(forget, forget);
    return write;
  }

  ledgerIdentity(): string {
    return createHash('sha256').update(this.identity).digest('hex').slice(0, 16);
  }

  /** Waits for the writes in flight. */
  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** Waits for the writes in flight, then closes the MikroORM instance if the exporter created it. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      await this.forceFlush();
      if (!this.owned) return;
      try {
        if (this.ready !== undefined) await (await this.ready).orm.close(true);
      } catch {
        // it never connected: nothing to close
      }
    })();
    return this.shutdownPromise;
  }

  /** Connects once; after a failure (database down at start), the next write tries again. */
  private connected(): Promise<Connected> {
    const attempt = (this.ready ??= this.connect());
    attempt.catch(() => {
      if (this.ready === attempt) this.ready = undefined;
    });
    return attempt;
  }

  private async write(rows: readonly LedgerRows[]): Promise<void> {
    if (rows.length === 0) return;
    const { writer } = await this.connected();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bullmq-ledger: the ledger write took longer than ${this.writeTimeoutMs} ms`)),
        this.writeTimeoutMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([writer.write(prepareBatch(rows)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Connected {
  readonly orm: MikroORM;
  readonly writer: LedgerWriter;
}

async function openOwnOrm(options: {
  clientUrl: string;
  schema?: string;
  poolSize?: number;
  migrate?: boolean;
}): Promise<Connected> {
  const orm = await PostgreSqlMikroORM.init({
    entities: [...ledgerEntities],
    clientUrl: options.clientUrl,
    schema: options.schema,
    pool: { min: 0, max: options.poolSize ?? 2 },
    discovery: { warnWhenNoEntities: false },
    debug: false,
  });
  if (options.migrate === true) {
    try {
      await migrateLedger(orm);
    } catch (err) {
      await orm.close(true);
      throw err;
    }
  }
  return { orm, writer: new LedgerWriter(orm) };
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1@');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
