import os from 'node:os';
import path from 'node:path';
import { diag, metrics } from '@opentelemetry/api';
import type { Context, Counter, MeterProvider } from '@opentelemetry/api';
import { ATTR_EXPORTER_RESULT, METRIC_EXPORTER_RECORDS } from '../src/metric-names';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../src/version';
import type { LedgerRowSink } from './ledger-span-exporter';
import { THIS_PROCESS } from './ledger-span-exporter';
import { spanToLedgerRows } from './ledger-rows';
import type { LedgerRows } from './ledger-rows';
import { describeWriteError, isRowError } from './ledger-writer';
import type { FinishedSpan } from './otel-sdk-contract';
import { Spool } from './spool';
import type { SpoolRead } from './spool';
import { resolveProcessorOptions } from './ledger-span-processor-options';
import type { LedgerSpanProcessorOptions, ResolvedProcessorOptions } from './ledger-span-processor-options';

export type { LedgerSpanProcessorOptions } from './ledger-span-processor-options';

/** What the processor has done so far. Rows are counted per job span (one record row and its attempt row). */
export interface LedgerCounters {
  /** Rows written to the database. */
  readonly written: number;
  /** Rows whose write failed and was (or will be) retried; a row retried twice counts twice. */
  readonly retried: number;
  /** Rows waiting: in memory, being written, or in this process's spool. */
  readonly pending: number;
  /** Rows appended to the spool while the database was down or slow. */
  readonly spilled: number;
  /**
   * Rows not in the ledger: when the spool is disabled or cannot be written, or a row PostgreSQL
   * itself refuses (kept aside in the spool directory's `rejected.ndjson`). Logged.
   */
  readonly dropped: number;
}

interface Batch {
  readonly rows: readonly LedgerRows[];
  /** Set for rows replayed from the spool. */
  readonly spool?: SpoolRead;
}

const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * The span processor that feeds the ledger. Unlike the SDK's
 * BatchSpanProcessor it takes every recorded span of the instrumentation,
 * sampled or not (pair it with LedgerSampler), never drops a job because a
 * buffer is full, and retries failed writes: while the database is down, rows
 * go to an append-only spool file, replayed when it answers again (also by
 * the next process, after a crash).
 *
 * `onEnd` only maps the span to rows, in memory: it never blocks the job and
 * never throws. Batches are written one at a time.
 */
export class LedgerSpanProcessor {
  private readonly options: ResolvedProcessorOptions;
  private readonly spool: Spool | undefined;
  private queue: LedgerRows[] = [];
  private inFlight: Batch | undefined;
  private writing: Promise<void> | undefined;
  /** False after a failed write, until one succeeds: new rows then go straight to the spool. */
  private healthy = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  /** Halved on each row error, to isolate a row PostgreSQL refuses. */
  private batchLimit: number;
  private readonly ticker: NodeJS.Timeout;
  private ticks = 0;
  /** Spool writes in flight (rows spilled, rows set aside): drains wait for them to be on disk. */
  private readonly pendingSpills = new Set<Promise<unknown>>();
  private shutdownPromise: Promise<void> | undefined;
  private lastErrorLog = 0;
  private readonly counts = { written: 0, retried: 0, spilled: 0, dropped: 0 };
  /** The counter and the provider it came from: the global provider is looked up again when it changes. */
  private records: { readonly provider: MeterProvider; readonly counter: Counter } | undefined;
  private readonly meterProvider: MeterProvider | undefined;

  constructor(
    private readonly sink: LedgerRowSink,
    options: LedgerSpanProcessorOptions = {},
  ) {
    if (typeof sink !== 'object' || sink === null || typeof sink.writeRows !== 'function') {
      throw new TypeError(
        'bullmq-ledger: LedgerSpanProcessor needs a LedgerSpanExporter, e.g. new LedgerSpanProcessor(new LedgerSpanExporter({ orm })).',
      );
    }
    this.options = resolveProcessorOptions(options);
    this.meterProvider = options.meterProvider;
    this.retryDelayMs = this.options.initialRetryDelayMs;
    this.batchLimit = this.options.maxBatchSize;
    const spool = this.options.spool;
    this.spool =
      spool === false
        ? undefined
        : new Spool(
            {
              directory: spool.directory ?? path.join(os.tmpdir(), 'bullmq-ledger-spool', sink.ledgerIdentity()),
              staleAfterMs: spool.staleAfterMs,
            },
            diag,
          );
    this.ticker = setInterval(() => this.tick(), this.options.flushIntervalMs);
    this.ticker.unref();
    // Rows a crashed process left behind are replayed once they look abandoned.
    void this.claimSpool();
  }

  onStart(_span: unknown, _parentContext: Context): void {}

  onEnd(span: FinishedSpan): void {
    try {
      if (span.instrumentationScope.name !== PACKAGE_NAME) return;
      const rows = spanToLedgerRows(span, THIS_PROCESS);
      if (rows === undefined) return;
      if (this.shutdownPromise !== undefined || (!this.healthy && this.spool !== undefined)) {
        this.spill([rows]); // write-ahead while the database is down: a crash then loses nothing
        return;
      }
      this.queue.push(rows);
      if (this.queue.length > this.options.maxQueueSize) {
        this.spill(this.queue.splice(0, this.queue.length - this.options.maxQueueSize));
      }
      if (this.queue.length >= this.options.maxBatchSize) setImmediate(() => this.pump());
    } catch (err) {
      diag.error('bullmq-ledger: LedgerSpanProcessor could not take a span', err);
    }
  }

  /** The counters, now. */
  counters(): LedgerCounters {
    return {
      ...this.counts,
      pending: this.queue.length + (this.inFlight?.rows.length ?? 0) + (this.spool?.pendingRows ?? 0),
    };
  }

  /**
   * Counts go to the given meter provider, or to the global one as it is now: a
   * processor created before the application registers its MeterProvider (as
   * with NodeSDK) still counts into it. Counting happens per batch, not per span.
   */
  private recordsCounter(): Counter {
    const provider = this.meterProvider ?? metrics.getMeterProvider();
    if (this.records?.provider !== provider) {
      const counter = provider.getMeter(PACKAGE_NAME, PACKAGE_VERSION).createCounter(METRIC_EXPORTER_RECORDS, {
        unit: '{record}',
        description: 'Ledger rows written, writes retried, rows spilled to the spool or dropped',
      });
      this.records = { provider, counter };
    }
    return this.records.counter;
  }

  /** Counts in `stats()` and in the `bullmq_ledger.exporter.records` metric. */
  private count(result: 'written' | 'retried' | 'spilled' | 'dropped', n: number): void {
    this.counts[result] += n;
    try {
      this.recordsCounter().add(n, { [ATTR_EXPORTER_RESULT]: result });
    } catch {
      // a metrics SDK that throws must not stop the ledger
    }
  }

  /** Writes everything waiting, replaying the spool, within `shutdownTimeoutMs`. Rows not written by then stay spooled. */
  async forceFlush(): Promise<void> {
    await this.drain(Date.now() + this.options.shutdownTimeoutMs);
    await this.sink.forceFlush();
  }

  /**
   * Drains like forceFlush, then keeps whatever could not be written in the
   * spool (for the next start) and shuts the exporter down. Idempotent.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      clearInterval(this.ticker);
      await this.drain(Date.now() + this.options.shutdownTimeoutMs);
      if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      await this.writing;
      const left = this.queue.splice(0);
      if (left.length > 0) {
        this.spill(left);
        diag.warn(
          `bullmq-ledger: ${left.length} ledger rows could not be written before shutdown; they wait in the spool for the next start`,
        );
      }
      await Promise.all([...this.pendingSpills]);
      await this.spool?.close();
      await this.sink.shutdown();
    })();
    return this.shutdownPromise;
  }

  private tick(): void {
    try {
      this.ticks += 1;
      this.pump();
      // Keep this process's spool files alive, and pick up files of processes that are gone.
      const staleCheckEvery = Math.max(
        1,
        Math.floor(this.options.spoolStaleAfterMs / 3 / this.options.flushIntervalMs),
      );
      if (this.spool !== undefined && this.ticks % staleCheckEvery === 0) {
        void this.spool.touch();
        if (this.healthy) void this.claimSpool();
      }
    } catch (err) {
      diag.error('bullmq-ledger: LedgerSpanProcessor tick failed', err);
    }
  }

  /** Starts the next write, if none is running and none is waiting to be retried. */
  private pump(): void {
    if (this.writing !== undefined || this.retryTimer !== undefined) return;
    const writing = this.nextBatch().then((batch) => (batch === undefined ? undefined : this.write(batch)));
    this.writing = writing;
    void writing
      .catch((err: unknown) => diag.error('bullmq-ledger: LedgerSpanProcessor write loop failed', err))
      .finally(() => {
        if (this.writing === writing) this.writing = undefined;
      });
  }

  private async nextBatch(): Promise<Batch | undefined> {
    if (this.healthy && this.queue.length > 0) return { rows: this.queue.splice(0, this.batchLimit) };
    if (this.spool === undefined) {
      return this.queue.length > 0 ? { rows: this.queue.splice(0, this.batchLimit) } : undefined;
    }
    if (!this.spool.hasWork) return undefined;
    await Promise.all([...this.pendingSpills]);
    await this.spool.claim();
    const read = await this.spool.read(this.batchLimit);
    return read === undefined ? undefined : { rows: read.rows, spool: read };
  }

  private async write(batch: Batch): Promise<void> {
    this.inFlight = batch;
    try {
      await this.sink.writeRows(batch.rows);
    } catch (err) {
      this.inFlight = undefined;
      this.onWriteFailed(batch, err);
      return;
    }
    this.inFlight = undefined;
    await batch.spool?.commit();
    this.count('written', batch.rows.length);
    if (!this.healthy) diag.info('bullmq-ledger: the ledger database answers again; writing the rows that waited');
    this.healthy = true;
    this.retryDelayMs = this.options.initialRetryDelayMs;
    this.batchLimit = this.options.maxBatchSize;
    if (this.queue.length >= this.options.maxBatchSize || (this.spool?.hasWork ?? false))
      setImmediate(() => this.pump());
  }

  private setAside(rows: readonly LedgerRows[], reason: string): void {
    const job = rows[0]?.record.id ?? '?';
    const refused = `bullmq-ledger: the ledger database refused the row of job ${job}: ${reason}`;
    if (this.spool === undefined) {
      diag.error(`${refused}; it is dropped (no spool to keep it in)`);
      return;
    }
    this.trackSpoolWrite(
      this.spool.setAside(rows, reason).then((file) => {
        diag.error(file === undefined ? `${refused}; it is dropped` : `${refused}; it is kept in ${file}`);
      }),
    );
  }

  private trackSpoolWrite(write: Promise<void>): void {
    this.pendingSpills.add(write);
    void write.finally(() => this.pendingSpills.delete(write));
  }

  private onWriteFailed(batch: Batch, err: unknown): void {
    if (isRowError(err) && batch.rows.length > 1) {
      // A value PostgreSQL refuses: write smaller batches until the row is isolated.
      batch.spool?.rollback();
      if (batch.spool === undefined) this.queue.unshift(...batch.rows);
      this.batchLimit = Math.max(1, Math.ceil(batch.rows.length / 2));
      setImmediate(() => this.pump());
      return;
    }
    if (isRowError(err)) {
      // Retrying cannot help: the row is not in the ledger (counted as dropped), but kept aside.
      void batch.spool?.commit();
      this.count('dropped', batch.rows.length);
      this.setAside(batch.rows, describeWriteError(err));
      this.batchLimit = this.options.maxBatchSize;
      setImmediate(() => this.pump());
      return;
    }
    this.count('retried', batch.rows.length);
    this.healthy = false;
    this.logFailure(err);
    if (batch.spool !== undefined) {
      batch.spool.rollback();
    } else if (this.spool !== undefined) {
      this.spill([...batch.rows, ...this.queue.splice(0)]);
    } else {
      this.queue.unshift(...batch.rows);
      const overflow = this.queue.length - this.options.maxQueueSize;
      if (overflow > 0) this.drop(this.queue.splice(this.options.maxQueueSize, overflow));
    }
    const delay = this.retryDelayMs * (0.75 + Math.random() * 0.5);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.maxRetryDelayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  private spill(rows: readonly LedgerRows[]): void {
    if (rows.length === 0) return;
    if (this.spool === undefined) {
      this.drop(rows);
      return;
    }
    this.trackSpoolWrite(
      this.spool.append(rows).then((ok) => {
        // Counted once they are on disk: a row the spool could not take is dropped, not spilled.
        if (ok) this.count('spilled', rows.length);
        else this.drop(rows);
      }),
    );
  }

  private drop(rows: readonly LedgerRows[]): void {
    this.count('dropped', rows.length);
    diag.error(
      `bullmq-ledger: dropped ${rows.length} ledger rows (${this.spool === undefined ? 'the spool is disabled and the in-memory queue is full' : 'the spool file could not be written'})`,
    );
  }

  private async claimSpool(): Promise<void> {
    try {
      await this.spool?.claim();
      if (this.spool?.hasWork === true) this.pump();
    } catch (err) {
      diag.error('bullmq-ledger: could not read the spool', err);
    }
  }

  /** Pumps until nothing waits or the deadline passes (the database may be down). */
  private async drain(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const idle = this.queue.length === 0 && this.inFlight === undefined && !(this.spool?.hasWork ?? false);
      // The database is down and every row is safe in the spool: waiting would not write more.
      const spooled = !this.healthy && this.spool !== undefined && this.queue.length === 0;
      if ((idle || spooled) && this.writing === undefined) {
        await Promise.all([...this.pendingSpills]); // on disk before the caller goes on
        return;
      }
      this.pump();
      const waiting = this.writing;
      if (waiting !== undefined && this.retryTimer === undefined) await waiting;
      else await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(deadline - Date.now(), 0))));
    }
  }

  private logFailure(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    diag.error(`bullmq-ledger: could not write to the ledger; retrying with backoff: ${describeWriteError(err)}`);
  }
}
