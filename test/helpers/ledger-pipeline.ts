/**
 * The ledger pipeline in the test process: a LedgerSpanProcessor writing into a
 * schema of the test's own, plugged into the shared tracer provider for the
 * duration of a suite, with the application's sampler wrapped in LedgerSampler.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { LedgerSampler, LedgerSpanExporter, LedgerSpanProcessor } from '../../exporter';
import type { LedgerSpanProcessorOptions } from '../../exporter';
import { migrateLedger, WorkerJobAttempt, WorkerJobRecord } from '../../schema';
import { openLedgerDb } from './ledger-db';
import type { LedgerDb } from './ledger-db';
import { extraProcessor, RecordedSpans, sampler } from './otel';
import { waitFor } from './wait';

export interface LedgerPipeline {
  readonly db: LedgerDb;
  readonly processor: LedgerSpanProcessor;
  readonly spoolDirectory: string;
  /** Every span that ended recorded while the pipeline ran, sampled or not. */
  readonly recorded: RecordedSpans;
  records(queueName: string): Promise<WorkerJobRecord[]>;
  attempts(queueName: string): Promise<WorkerJobAttempt[]>;
  /** Waits until `queueName` has `count` records matching `done`. */
  waitForRecords(
    queueName: string,
    count: number,
    done?: (record: WorkerJobRecord) => boolean,
  ): Promise<WorkerJobRecord[]>;
  close(): Promise<void>;
}

export async function startLedgerPipeline(
  label: string,
  {
    appSampler = new AlwaysOnSampler(),
    options = {},
    clientUrl,
  }: { appSampler?: Sampler; options?: LedgerSpanProcessorOptions; clientUrl?: string } = {},
): Promise<LedgerPipeline> {
  const db = await openLedgerDb(label, clientUrl === undefined ? {} : { clientUrl });
  await migrateLedger(db.orm);
  const spoolDirectory = mkdtempSync(path.join(os.tmpdir(), 'bl-spool-'));
  const processor = new LedgerSpanProcessor(new LedgerSpanExporter({ orm: db.orm }), {
    flushIntervalMs: 50,
    spool: { directory: spoolDirectory },
    ...options,
  });
  sampler.current = new LedgerSampler(appSampler);
  const recorded = new RecordedSpans();
  extraProcessor.current = [processor, recorded];
  const records = (queueName: string) =>
    db.orm.em.fork().find(WorkerJobRecord, { queueName }, { orderBy: { jobId: 'asc' } });
  return {
    db,
    processor,
    spoolDirectory,
    recorded,
    records,
    attempts: (queueName) =>
      db.orm.em.fork().find(WorkerJobAttempt, { queueName }, { orderBy: { jobId: 'asc', attemptsStarted: 'asc' } }),
    async waitForRecords(queueName, count, done = (record) => record.final) {
      let found: WorkerJobRecord[] = [];
      await waitFor(
        async () => {
          found = (await records(queueName)).filter(done);
          return found.length >= count;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `${count} ledger records of ${queueName} (have ${found.length})` },
      );
      return found;
    },
    async close() {
      extraProcessor.current = [];
      sampler.current = new AlwaysOnSampler();
      await processor.shutdown();
      await db.close();
      rmSync(spoolDirectory, { recursive: true, force: true });
    },
  };
}
