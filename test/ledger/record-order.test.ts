import { expect } from 'chai';
import { prepareBatch } from '../../exporter/ledger-batch';
import type { LedgerRows, RecordRow } from '../../exporter/ledger-rows';
import { LedgerWriter } from '../../exporter/ledger-writer';
import { mergeRecord } from '../../exporter/record-order';
import { migrateLedger, WorkerJobRecord } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { attemptRows, pendingRow, T0 } from '../helpers/ledger-rows';

/** A small deterministic PRNG, so that a failing order can be reproduced from its seed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** The record as stored, in the row shape, for comparison. */
async function stored(db: LedgerDb, id: string): Promise<Partial<RecordRow>> {
  const row = await db.orm.em.fork().findOneOrFail(WorkerJobRecord, { id });
  return {
    status: row.status,
    attempt: row.attempt,
    attemptsStarted: row.attemptsStarted,
    outcome: row.outcome === null || row.outcome === undefined ? null : (row.outcome as RecordRow['outcome']),
    final: row.final,
    retryCount: row.retryCount,
    spanId: row.spanId ?? null,
    startedAt: row.startedAt?.getTime() ?? null,
    enqueuedAt: row.enqueuedAt?.getTime() ?? null,
  };
}

function pick(row: RecordRow): Partial<RecordRow> {
  const { status, attempt, attemptsStarted, outcome, final, retryCount, spanId, startedAt, enqueuedAt } = row;
  return { status, attempt, attemptsStarted, outcome, final, retryCount, spanId, startedAt, enqueuedAt };
}

describe('worker_job_records: the newest attempt wins, whatever the order', () => {
  let db: LedgerDb;
  let writer: LedgerWriter;
  before(async () => {
    db = await openLedgerDb('order');
    await migrateLedger(db.orm);
    writer = new LedgerWriter(db.orm);
  });
  after(() => db.close());

  // One job's life: enqueued, attempt 1 fails (retry), attempt 2 loses its lock
  // (stalled) while attempt 2 runs again elsewhere and completes; a delayed run in between.
  const life = (jobId: string): LedgerRows[] => [
    pendingRow('q', jobId),
    attemptRows('q', jobId, 1, 'retry', { attemptsStarted: 1 }),
    attemptRows('q', jobId, 2, 'delayed', { attemptsStarted: 2 }),
    attemptRows('q', jobId, 2, 'stalled', { attemptsStarted: 3 }),
    attemptRows('q', jobId, 2, 'completed', { attemptsStarted: 4 }),
  ];

  it('ends on the completed attempt for every order of arrival and every split into batches', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const next = random(seed);
      const jobId = `job-${seed}`;
      const inOrder = life(jobId);
      const rows = shuffle(inOrder, next);
      for (let i = 0; i < rows.length;) {
        const size = 1 + Math.floor(next() * 3);
        await writer.write(prepareBatch(rows.slice(i, i + size)));
        i += size;
      }
      const expected = inOrder.map((r) => r.record).reduce(mergeRecord);
      expect(await stored(db, `q:${jobId}`), `seed ${seed}`).to.deep.equal(pick(expected));
      expect(expected.outcome).to.equal('completed');
      expect(expected.startedAt).to.equal(T0 + 1000); // the first attempt's start
    }
  });

  it('never lets an older failure overwrite a completion, nor a late producer span a finished job', async () => {
    await writer.write(prepareBatch([attemptRows('q', 'late', 3, 'completed')]));
    await writer.write(prepareBatch([attemptRows('q', 'late', 2, 'retry'), pendingRow('q', 'late')]));
    expect(await stored(db, 'q:late')).to.include({ status: 'COMPLETED', attempt: 3, final: true });
  });

  it('lets a final failure win over the unrecorded attempt it shares a count with', async () => {
    await writer.write(prepareBatch([attemptRows('q', 'overstalled', 1, 'failed', { attemptsStarted: 1 })]));
    await writer.write(prepareBatch([attemptRows('q', 'overstalled', 1, 'stalled', { attemptsStarted: 1 })]));
    expect(await stored(db, 'q:overstalled')).to.include({ status: 'FAILED', final: true, outcome: 'failed' });
  });

  it('starts over for a job id re-added after the previous job was removed, once the new job runs', async () => {
    await writer.write(prepareBatch([attemptRows('q', 'reused', 1, 'completed')]));
    const later = T0 + 86_400_000;
    // The producer's row is insert-if-absent: the finished job stays as it was...
    await writer.write(prepareBatch([pendingRow('q', 'reused', later)]));
    expect(await stored(db, 'q:reused')).to.include({ status: 'COMPLETED', enqueuedAt: T0, startedAt: T0 + 1000 });
    // ...until an attempt of the new job arrives: nothing of the old one is kept.
    await writer.write(prepareBatch([attemptRows('q', 'reused', 1, 'failed', { enqueuedAt: later })]));
    expect(await stored(db, 'q:reused')).to.include({
      status: 'FAILED',
      enqueuedAt: later,
      startedAt: later + 1000,
    });
  });

  it('never resets a job when its id is added again (BullMQ ignores the add; its span has a later time)', async () => {
    // Added again after it completed.
    await writer.write(prepareBatch([pendingRow('q', 'dup-done'), attemptRows('q', 'dup-done', 1, 'completed')]));
    await writer.write(prepareBatch([pendingRow('q', 'dup-done', T0 + 5000)]));
    expect(await stored(db, 'q:dup-done')).to.include({ status: 'COMPLETED', final: true, enqueuedAt: T0 });

    // Added twice before it ran, the second add's span arriving first, in every batch split: the
    // attempt (with the job's own enqueue time) still wins over the PENDING row of the later add.
    const splits: LedgerRows[][][] = [
      [[pendingRow('q', 'dup-1', T0 + 5000)], [pendingRow('q', 'dup-1')], [attemptRows('q', 'dup-1', 1, 'completed')]],
      [[pendingRow('q', 'dup-2', T0 + 5000), pendingRow('q', 'dup-2'), attemptRows('q', 'dup-2', 1, 'completed')]],
      [[pendingRow('q', 'dup-3', T0 + 5000), attemptRows('q', 'dup-3', 1, 'completed')], [pendingRow('q', 'dup-3')]],
      [[attemptRows('q', 'dup-4', 1, 'completed')], [pendingRow('q', 'dup-4', T0 + 5000), pendingRow('q', 'dup-4')]],
    ];
    for (const [i, batches] of splits.entries()) {
      for (const batch of batches) await writer.write(prepareBatch(batch));
      expect(await stored(db, `q:dup-${i + 1}`), `split ${i + 1}`).to.include({
        status: 'COMPLETED',
        final: true,
        attempt: 1,
        enqueuedAt: T0,
        startedAt: T0 + 1000,
      });
    }
  });

  it('is idempotent: the same batch twice stores the same rows once', async () => {
    const batch = prepareBatch([attemptRows('q', 'twice', 1, 'retry'), attemptRows('q', 'twice', 2, 'completed')]);
    await writer.write(batch);
    await writer.write(batch);
    const attempts = await db.orm.em
      .getConnection()
      .execute<Array<{ n: string }>>(
        `select count(*) as n from "${db.schema}".worker_job_attempts where job_id = 'twice'`,
      );
    expect(Number(attempts[0]?.n)).to.equal(2);
  });
});
