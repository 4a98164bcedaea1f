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

  it('starts over for a job id re-added after the previous job was removed', async () => {
    await writer.write(prepareBatch([attemptRows('q', 'reused', 1, 'completed')]));
    const later = T0 + 86_400_000;
    await writer.write(prepareBatch([pendingRow('q', 'reused', later)]));
    // A new incarnation that has not started yet: nothing of the old one is kept.
    expect(await stored(db, 'q:reused')).to.include({
      status: 'PENDING',
      attempt: 0,
      enqueuedAt: later,
      startedAt: null,
    });
    await writer.write(prepareBatch([attemptRows('q', 'reused', 1, 'failed', { enqueuedAt: later })]));
    expect(await stored(db, 'q:reused')).to.include({ status: 'FAILED', startedAt: later + 1000 });
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
