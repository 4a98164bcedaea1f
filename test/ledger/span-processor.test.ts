import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diag, ROOT_CONTEXT, SpanKind, TraceFlags } from '@opentelemetry/api';
import { expect } from 'chai';
import { LedgerSpanProcessor } from '../../exporter';
import type { FinishedSpan, LedgerRows, LedgerRowSink } from '../../exporter';
import { Spool } from '../../exporter/spool';
import * as attr from '../../src/attributes';
import { PACKAGE_NAME } from '../../src/version';
import { waitFor } from '../helpers/wait';

let spanCounter = 0;

/** A finished attempt span as the instrumentation produces it. */
function attemptSpan(jobId: string, scope = PACKAGE_NAME): FinishedSpan {
  const spanId = (++spanCounter).toString(16).padStart(16, '0');
  return {
    name: 'process q',
    kind: SpanKind.CONSUMER,
    spanContext: () => ({ traceId: 'b'.repeat(32), spanId, traceFlags: TraceFlags.NONE }),
    startTime: [1_800_000_000, 0],
    endTime: [1_800_000_000, 5_000_000],
    attributes: {
      [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [attr.ATTR_MESSAGING_DESTINATION_NAME]: 'q',
      [attr.ATTR_MESSAGING_MESSAGE_ID]: jobId,
      [attr.ATTR_ATTEMPT_NUMBER]: 1,
      [attr.ATTR_ATTEMPT_OUTCOME]: 'completed',
      [attr.ATTR_ATTEMPT_FINAL]: true,
    },
    resource: { attributes: { 'service.name': 'test' } },
    instrumentationScope: { name: scope },
  };
}

/** A sink that records what it is given, and fails while `failing` says so. */
class RecordingSink implements LedgerRowSink {
  readonly batches: LedgerRows[][] = [];
  failing: ((rows: readonly LedgerRows[]) => Error | undefined) | undefined;
  shutdowns = 0;
  writeRows(rows: readonly LedgerRows[]): Promise<void> {
    const error = this.failing?.(rows);
    if (error !== undefined) return Promise.reject(error);
    this.batches.push([...rows]);
    return Promise.resolve();
  }
  ledgerIdentity = (): string => 'test';
  forceFlush = (): Promise<void> => Promise.resolve();
  shutdown(): Promise<void> {
    this.shutdowns += 1;
    return Promise.resolve();
  }
  get written(): string[] {
    return this.batches.flat().map((rows) => rows.record.jobId);
  }
}

const connectionRefused = (): Error =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('LedgerSpanProcessor', () => {
  let spool: string;
  const processors: LedgerSpanProcessor[] = [];
  beforeEach(() => {
    spool = mkdtempSync(path.join(os.tmpdir(), 'bl-spool-'));
  });
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((processor) => processor.shutdown()));
    rmSync(spool, { recursive: true, force: true });
  });

  function start(
    sink: RecordingSink,
    options: ConstructorParameters<typeof LedgerSpanProcessor>[1] = {},
  ): LedgerSpanProcessor {
    const processor = new LedgerSpanProcessor(sink, {
      flushIntervalMs: 20,
      initialRetryDelayMs: 10,
      maxRetryDelayMs: 40,
      spool: { directory: spool },
      ...options,
    });
    processors.push(processor);
    return processor;
  }

  it('writes full batches without waiting for the interval', async () => {
    const sink = new RecordingSink();
    const processor = start(sink, { maxBatchSize: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 25; i++) processor.onEnd(attemptSpan(`job-${i}`));
    await waitFor(() => sink.written.length >= 20, { what: 'two full batches' });
    expect(sink.batches.slice(0, 2).map((batch) => batch.length)).to.deep.equal([10, 10]);
    await processor.forceFlush();
    expect(sink.written).to.have.length(25);
    expect(processor.counters()).to.deep.include({ written: 25, pending: 0 });
  });

  it('writes a batch that is not full at the next interval', async () => {
    const sink = new RecordingSink();
    const processor = start(sink, { maxBatchSize: 1000, flushIntervalMs: 30 });
    for (let i = 0; i < 3; i++) processor.onEnd(attemptSpan(`job-${i}`));
    expect(sink.written).to.deep.equal([]);
    await waitFor(() => sink.written.length === 3, { what: 'the interval flush' });
    expect(sink.batches).to.have.length(1);
  });

  it('ignores spans of other instrumentations', async () => {
    const sink = new RecordingSink();
    const processor = start(sink);
    processor.onStart(attemptSpan('x'), ROOT_CONTEXT);
    processor.onEnd(attemptSpan('other', '@opentelemetry/instrumentation-http'));
    processor.onEnd(attemptSpan('ours'));
    await processor.forceFlush();
    expect(sink.written).to.deep.equal(['ours']);
  });

  it('retries failed writes with backoff, spooling meanwhile, and writes every row once the database answers', async () => {
    const sink = new RecordingSink();
    let failedWrites = 0;
    sink.failing = () => {
      failedWrites += 1;
      return connectionRefused();
    };
    const processor = start(sink);
    for (let i = 0; i < 50; i++) processor.onEnd(attemptSpan(`job-${i}`));
    await waitFor(() => failedWrites >= 3 && processor.counters().spilled === 50, { what: 'a few retries' });
    // Rows, not writes: the first failed write held all 50, each retry of the spool some of them.
    expect(processor.counters().retried).to.be.at.least(50 + 2);
    expect(processor.counters()).to.deep.include({ written: 0, spilled: 50, dropped: 0 });
    for (let i = 50; i < 60; i++) processor.onEnd(attemptSpan(`job-${i}`)); // straight to the spool while down
    sink.failing = undefined;
    await waitFor(() => processor.counters().written === 60, { what: 'all rows written' });
    expect(new Set(sink.written).size).to.equal(60);
    expect(processor.counters()).to.deep.include({ pending: 0, dropped: 0 });
    await waitFor(() => readdirSync(spool).every((name) => !name.includes('.replay-')), {
      what: 'the spool to be emptied',
    });
  });

  it('hands the exporter one batch at a time: the next only once the last has settled', async () => {
    const calls: Array<{ rows: number; release: () => void }> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const sink = new RecordingSink();
    sink.writeRows = (rows) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return new Promise<void>((resolve) => {
        calls.push({
          rows: rows.length,
          release: () => {
            inFlight -= 1;
            resolve();
          },
        });
      });
    };
    const processor = start(sink, { maxBatchSize: 10, flushIntervalMs: 5 });
    for (let i = 0; i < 35; i++) processor.onEnd(attemptSpan(`job-${i}`));
    for (let released = 0; released < 4; released++) {
      await waitFor(() => calls.length === released + 1, { what: `write ${released + 1} to start` });
      // Full batches are waiting and the interval has passed many times: still one write at a time.
      await waitFor(() => processor.counters().pending === 35 - released * 10, { what: 'the counts to settle' });
      expect(inFlight).to.equal(1);
      calls[released]?.release();
    }
    await processor.forceFlush();
    expect(calls.map((call) => call.rows)).to.deep.equal([10, 10, 10, 5]);
    expect(mostInFlight).to.equal(1);
  });

  it('backs off exponentially between failed writes, up to maxRetryDelayMs', async () => {
    const attempts: number[] = [];
    const sink = new RecordingSink();
    sink.failing = () => {
      attempts.push(performance.now());
      return connectionRefused();
    };
    const processor = start(sink, { spool: false, initialRetryDelayMs: 20, maxRetryDelayMs: 80 });
    processor.onEnd(attemptSpan('job'));
    await waitFor(() => attempts.length >= 8, { timeoutMs: 5000, what: 'eight write attempts' });
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] ?? at));
    // Delays with ±25% jitter: 20, 40, 80, then 80 at most; timers may fire a little late, never early.
    expect(gaps[0]).to.be.within(15, 60);
    for (const gap of gaps.slice(3)) expect(gap).to.be.within(60, 80 * 1.25 + 50);
    expect(Math.min(...gaps.slice(3))).to.be.greaterThan(Math.max(gaps[0] ?? 0, 0) * 1.2);
    sink.failing = undefined;
    await processor.forceFlush();
    expect(sink.written).to.deep.equal(['job']);
  });

  it('counts rows the spool file could not take as dropped, not spilled', async () => {
    const sink = new RecordingSink();
    sink.failing = connectionRefused;
    const processor = start(sink);
    // The spool directory turns into a file: every append fails.
    rmSync(spool, { recursive: true, force: true });
    writeFileSync(spool, 'not a directory');
    for (let i = 0; i < 5; i++) processor.onEnd(attemptSpan(`job-${i}`));
    await waitFor(() => processor.counters().dropped === 5, { what: 'the rows to be counted as dropped' });
    expect(processor.counters()).to.deep.include({ spilled: 0, dropped: 5, written: 0 });
    await processor.shutdown();
    rmSync(spool, { force: true });
    mkdirSync(spool);
  });

  it('without a spool, keeps maxQueueSize rows in memory and counts the rest as dropped', async () => {
    const sink = new RecordingSink();
    sink.failing = connectionRefused;
    const processor = start(sink, { spool: false, maxQueueSize: 20, maxBatchSize: 5 });
    for (let i = 0; i < 50; i++) processor.onEnd(attemptSpan(`job-${i}`));
    await waitFor(() => processor.counters().retried >= 1, { what: 'a failed write' });
    sink.failing = undefined;
    await waitFor(() => processor.counters().pending === 0, { what: 'the queue to drain' });
    const counters = processor.counters();
    expect(counters.written + counters.dropped).to.equal(50);
    expect(counters.dropped).to.equal(30);
    expect(counters.spilled).to.equal(0);
  });

  it('isolates a row the database refuses, writes the others, and keeps it aside (counted as dropped)', async () => {
    const sink = new RecordingSink();
    sink.failing = (rows) =>
      rows.some((row) => row.record.jobId === 'poison')
        ? Object.assign(new Error('invalid input syntax'), { code: '22P02' })
        : undefined;
    const processor = start(sink, { maxBatchSize: 8 });
    for (let i = 0; i < 7; i++) processor.onEnd(attemptSpan(`job-${i}`));
    processor.onEnd(attemptSpan('poison'));
    await processor.forceFlush();
    expect(sink.written.sort()).to.deep.equal(Array.from({ length: 7 }, (_, i) => `job-${i}`).sort());
    expect(processor.counters()).to.deep.include({ written: 7, dropped: 1, pending: 0 });
    // Not in the ledger, not lost: kept with the reason, where replays never pick it up again.
    const kept = readFileSync(path.join(spool, 'rejected.ndjson'), 'utf8').trim().split('\n');
    expect(kept).to.have.length(1);
    const line: unknown = JSON.parse(kept[0] ?? '');
    expect(line).to.nested.include({ 'row.record.jobId': 'poison' });
    expect(line)
      .to.have.property('reason')
      .that.matches(/22P02|invalid input syntax/);
    // Another process claims spool files that look abandoned, but never this one.
    await processor.shutdown();
    await waitFor(() => Date.now() - statSync(path.join(spool, 'rejected.ndjson')).mtimeMs > 150, {
      what: 'the rejected file to look abandoned',
    });
    const other = new Spool({ directory: spool, staleAfterMs: 100 }, diag);
    await other.claim();
    expect(other.hasWork).to.equal(false);
    expect(readdirSync(spool)).to.include('rejected.ndjson');
  });

  it('on shutdown with the database down, keeps the rows in the spool for the next start', async () => {
    const sink = new RecordingSink();
    sink.failing = connectionRefused;
    const processor = start(sink, { shutdownTimeoutMs: 200 });
    for (let i = 0; i < 10; i++) processor.onEnd(attemptSpan(`job-${i}`));
    await processor.shutdown();
    await processor.shutdown();
    expect(sink.shutdowns).to.equal(1);
    expect(processor.counters()).to.deep.include({ written: 0, dropped: 0, pending: 10 });

    // The next process replays it once the file looks abandoned.
    const next = new RecordingSink();
    const replaying = start(next, { spool: { directory: spool, staleAfterMs: 100 } });
    await waitFor(() => next.written.length === 10, { what: 'the next process to replay the spool' });
    await replaying.forceFlush();
  });

  it('never throws from onEnd, whatever the span', () => {
    const processor = start(new RecordingSink());
    const hostile = new Proxy(attemptSpan('x'), {
      get() {
        throw new Error('hostile span');
      },
    });
    expect(() => processor.onEnd(hostile)).not.to.throw();
  });

  it('rejects invalid options with a message that says what is expected', () => {
    expect(() => new LedgerSpanProcessor(new RecordingSink(), { maxBatchSize: 0 })).to.throw(
      TypeError,
      /maxBatchSize must be a number of at least 1/,
    );
    expect(() => new LedgerSpanProcessor(new RecordingSink(), { spool: { directory: '' } })).to.throw(
      TypeError,
      /spool.directory must be a path/,
    );
  });
});
