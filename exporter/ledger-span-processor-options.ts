/** Options of LedgerSpanProcessor, checked and with defaults filled in. */
import type { MeterProvider } from '@opentelemetry/api';

export interface LedgerSpanProcessorOptions {
  /** Rows per database write. @defaultValue `500` */
  readonly maxBatchSize?: number;
  /** How often rows that have not filled a batch are written, in ms. @defaultValue `1000` */
  readonly flushIntervalMs?: number;
  /** Rows kept in memory while the database is slow; beyond, the oldest go to the spool. @defaultValue `10000` */
  readonly maxQueueSize?: number;
  /** Delay before retrying a failed write, doubled after each failure up to `maxRetryDelayMs`. @defaultValue `250` */
  readonly initialRetryDelayMs?: number;
  /** @defaultValue `30000` */
  readonly maxRetryDelayMs?: number;
  /**
   * Where rows wait while the database cannot be written. `false` disables it:
   * rows beyond `maxQueueSize` are then dropped (counted and logged).
   * `directory` defaults to `<os tmpdir>/bullmq-ledger-spool/<hash of the
   * database and schema>`; use a persistent directory in production so that
   * rows survive a restart of the machine or container. A file untouched for
   * `staleAfterMs` is taken to belong to a process that is gone, and replayed.
   * @defaultValue `{ staleAfterMs: 30000 }`
   */
  readonly spool?: false | { readonly directory?: string; readonly staleAfterMs?: number };
  /** Deadline of `forceFlush()` and `shutdown()`, in ms. @defaultValue `30000` */
  readonly shutdownTimeoutMs?: number;
  /** Where `bullmq_ledger.exporter.records` is counted. @defaultValue the global meter provider when the processor is created */
  readonly meterProvider?: MeterProvider;
}

export interface ResolvedProcessorOptions {
  readonly maxBatchSize: number;
  readonly flushIntervalMs: number;
  readonly maxQueueSize: number;
  readonly initialRetryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly spool: false | { readonly directory?: string; readonly staleAfterMs: number };
  readonly spoolStaleAfterMs: number;
  readonly shutdownTimeoutMs: number;
}

export function resolveProcessorOptions(options: LedgerSpanProcessorOptions): ResolvedProcessorOptions {
  const number = (
    name: keyof LedgerSpanProcessorOptions,
    value: number | undefined,
    fallback: number,
    min: number,
  ): number => {
    const resolved = value ?? fallback;
    if (!Number.isFinite(resolved) || resolved < min) {
      throw new TypeError(
        `bullmq-ledger: LedgerSpanProcessor option ${name} must be a number of at least ${min} (default ${fallback}), got ${String(value)}.`,
      );
    }
    return resolved;
  };
  const spool = options.spool ?? {};
  if (spool !== false && (typeof spool !== 'object' || spool === null)) {
    throw new TypeError(
      'bullmq-ledger: LedgerSpanProcessor option spool must be false or { directory?, staleAfterMs? }.',
    );
  }
  if (
    spool !== false &&
    spool.directory !== undefined &&
    (typeof spool.directory !== 'string' || spool.directory === '')
  ) {
    throw new TypeError('bullmq-ledger: LedgerSpanProcessor option spool.directory must be a path.');
  }
  const staleAfterMs = number('spool', spool === false ? undefined : spool.staleAfterMs, 30_000, 100);
  const initialRetryDelayMs = number('initialRetryDelayMs', options.initialRetryDelayMs, 250, 1);
  return {
    maxBatchSize: Math.floor(number('maxBatchSize', options.maxBatchSize, 500, 1)),
    flushIntervalMs: number('flushIntervalMs', options.flushIntervalMs, 1000, 1),
    maxQueueSize: Math.floor(number('maxQueueSize', options.maxQueueSize, 10_000, 1)),
    initialRetryDelayMs,
    maxRetryDelayMs: number('maxRetryDelayMs', options.maxRetryDelayMs, 30_000, initialRetryDelayMs),
    spool: spool === false ? false : { directory: spool.directory, staleAfterMs },
    spoolStaleAfterMs: staleAfterMs,
    shutdownTimeoutMs: number('shutdownTimeoutMs', options.shutdownTimeoutMs, 30_000, 0),
  };
}
