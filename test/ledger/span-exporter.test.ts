import { context } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import pg from 'pg';
import { LedgerSpanExporter } from '../../exporter';
import type { ExportResult } from '../../exporter';
import { migrateLedger, WorkerJobAttempt, WorkerJobRecord } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { ledgerSpans, waitForProcessSpans } from '../helpers/otel';
import { DATABASE_URL } from '../helpers/postgres';
import { queueFixtures } from '../helpers/queues';
import { TcpProxy } from '../helpers/tcp-proxy';

function exportOnce(exporter: LedgerSpanExporter, spans: ReadableSpan[]): Promise<ExportResult[]> {
  const results: ExportResult[] = [];
  return new Promise((resolve) => {
    exporter.export(spans, (result) => {
      results.push(result);
      // A second call would show up here after the next tick.
      setTimeout(() => resolve(results), 20);
    });
  });
}

async function snapshot(db: LedgerDb, queueName: string): Promise<unknown[]> {
  const em = db.orm.em.fork();
  const records = await em.find(WorkerJobRecord, { queueName }, { orderBy: { jobId: 'asc' } });
  const attempts = await em.count(WorkerJobAttempt, { queueName });
  return [
    attempts,
    ...records.map((r) => [
      r.jobId,
      r.status,
      r.attempt,
      r.final,
      r.spanId,
      r.startedAt?.getTime(),
      r.errorDetails?.message,
    ]),
  ];
}

describe('LedgerSpanExporter', () => {
  const fixture = queueFixtures();
  let spans: ReadableSpan[];
  let queueName: string;

  before(async () => {
    // Real spans of a run with retries and a failure, captured once.
    const q = fixture('exported');
    queueName = q.name;
    await q.queue.add('flaky', {}, { attempts: 3 });
    await q.queue.add('doomed', {}, { attempts: 2 });
    await q.queue.add('ok', {});
    q.worker(async (job) => {
      if (job.name === 'doomed' || (job.name === 'flaky' && job.attemptsMade < 2))
        throw new Error(`${job.name} failed`);
      return 'ok';
    });
    await waitForProcessSpans(q.name, 6);
    spans = ledgerSpans(q.name);
  });

  async function withDb<T>(label: string, run: (db: LedgerDb, exporter: LedgerSpanExporter) => Promise<T>): Promise<T> {
    const db = await openLedgerDb(label);
    await migrateLedger(db.orm);
    // The SDK's own SpanExporter type accepts it (this line fails to compile otherwise).
    const exporter: LedgerSpanExporter & SpanExporter = new LedgerSpanExporter({ orm: db.orm });
    try {
      return await run(db, exporter);
    } finally {
      await exporter.shutdown();
      await db.close();
    }
  }

  it('ends with the same rows for spans exported in order, reversed in small batches, or twice', async () => {
    const inOrder = await withDb('in-order', async (db, exporter) => {
      expect(await exportOnce(exporter, spans)).to.deep.equal([{ code: 0 }]);
      return snapshot(db, queueName);
    });
    const scrambled = await withDb('scrambled', async (db, exporter) => {
      const reversed = [...spans].reverse();
      for (let i = 0; i < reversed.length; i += 2) await exportOnce(exporter, reversed.slice(i, i + 2));
      await exportOnce(exporter, spans);
      await exportOnce(exporter, reversed.slice(0, 3));
      return snapshot(db, queueName);
    });
    expect(scrambled).to.deep.equal(inOrder);
    expect(inOrder[0]).to.equal(6);
    expect(inOrder.slice(1).map((row) => (row as unknown[])[1])).to.have.members(['COMPLETED', 'FAILED', 'COMPLETED']);
  });

  it('calls back exactly once, FAILED after shutdown, and shutdown twice is harmless', async () => {
    await withDb('contract', async (_db, exporter) => {
      expect(await exportOnce(exporter, spans.slice(0, 2))).to.deep.equal([{ code: 0 }]);
      await exporter.shutdown();
      await exporter.shutdown();
      const after = await exportOnce(exporter, spans.slice(0, 2));
      expect(after).to.have.length(1);
      expect(after[0]?.code).to.equal(1);
      expect(after[0]?.error?.message).to.match(/shut down/);
    });
  });

  it('waits in forceFlush for the writes in flight', async () => {
    await withDb('flush', async (db, exporter) => {
      let done = false;
      exporter.export(spans, () => {
        done = true;
      });
      await exporter.forceFlush();
      expect(done).to.equal(true);
      expect((await snapshot(db, queueName))[0]).to.equal(6);
    });
  });

  /** Whether tracing was suppressed for each query `run` sends through pg. */
  async function suppressedQueries(run: () => Promise<unknown>): Promise<boolean[]> {
    const seen: boolean[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, and called with its own this
    const query = pg.Client.prototype.query;
    // Observe (not replace) the driver's query path: what an instrumented pg would see.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      seen.push(isTracingSuppressed(context.active()));
      return Reflect.apply(query, this, args) as unknown;
    } as typeof query;
    try {
      await run();
    } finally {
      pg.Client.prototype.query = query;
    }
    return seen;
  }

  it('runs its database queries with tracing suppressed', async () => {
    await withDb('suppressed', async (_db, exporter) => {
      const seen = await suppressedQueries(() => exportOnce(exporter, spans));
      expect(seen.length).to.be.greaterThan(0);
      expect(seen.every(Boolean)).to.equal(true);
    });
  });

  it('connects and migrates with tracing suppressed too, when it owns its ORM', async () => {
    const db = await openLedgerDb('suppressed-own');
    const exporter = new LedgerSpanExporter({ clientUrl: DATABASE_URL, schema: db.schema, migrate: true });
    try {
      const seen = await suppressedQueries(() => exportOnce(exporter, spans));
      // The connection check, the migrations (DDL) and the batch: dozens of queries, none traced.
      expect(seen.length).to.be.greaterThan(20);
      expect(seen.filter((suppressed) => !suppressed)).to.have.length(0);
      expect((await snapshot(db, queueName))[0]).to.be.greaterThan(0);
    } finally {
      await exporter.shutdown();
      await db.close();
    }
  });

  it('fails each export, without throwing, while its database is unreachable, and connects once it answers', async () => {
    const db = await openLedgerDb('reconnect');
    await migrateLedger(db.orm);
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.listen();
    proxy.cut();
    const exporter = new LedgerSpanExporter({
      clientUrl: `postgresql://root@127.0.0.1:${port}/test`,
      schema: db.schema,
      writeTimeoutMs: 2000,
    });
    try {
      const down = await exportOnce(exporter, spans);
      expect(down).to.have.length(1);
      expect(down[0]?.code).to.equal(1);
      proxy.restore();
      expect(await exportOnce(exporter, spans)).to.deep.equal([{ code: 0 }]);
      expect((await snapshot(db, queueName))[0]).to.equal(6);
    } finally {
      await exporter.shutdown();
      await proxy.close();
      await db.close();
    }
  });

  it('owns its MikroORM instance with clientUrl, and can migrate on connect', async () => {
    const db = await openLedgerDb('owned');
    const exporter = new LedgerSpanExporter({ clientUrl: DATABASE_URL, schema: db.schema, migrate: true });
    try {
      expect(await exportOnce(exporter, spans)).to.deep.equal([{ code: 0 }]);
      expect((await snapshot(db, queueName))[0]).to.equal(6);
    } finally {
      await exporter.shutdown();
      await db.close();
    }
  });

  it('says what to do when constructed wrong', () => {
    expect(() => new LedgerSpanExporter({ clientUrl: '' })).to.throw(TypeError, /clientUrl: "postgresql:/);
  });
});
