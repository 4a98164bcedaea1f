import { expect } from 'chai';
import { startLedgerPipeline } from '../helpers/ledger-pipeline';
import type { LedgerPipeline } from '../helpers/ledger-pipeline';
import { configureInstrumentation } from '../helpers/otel';
import { queueFixtures } from '../helpers/queues';

describe('hostile values are stored safely, never lost', () => {
  let ledger: LedgerPipeline;
  before(async () => {
    ledger = await startLedgerPipeline('hostile');
  });
  after(() => ledger.close());
  const fixture = queueFixtures();

  it('stores odd job ids and names as they are (PostgreSQL-invalid characters replaced)', async () => {
    const q = fixture('odd-ids');
    const ids = ['a:b:c', 'with space', 'ジョブ-😀', 'x'.repeat(500), 'nul\u0000inside', 'quote\'"\\'];
    for (const jobId of ids) await q.queue.add(`name ${jobId.slice(0, 20)} 🚀`, {}, { jobId });
    q.worker(async () => 'ok');
    const records = await ledger.waitForRecords(q.name, ids.length);
    const stored = records.map((record) => record.jobId).sort();
    expect(stored).to.deep.equal(ids.map((id) => id.replace('\u0000', '\uFFFD')).sort());
    expect(
      records.every((record) => record.status === 'COMPLETED' && record.id === `${q.name}:${record.jobId}`),
    ).to.equal(true);
  });

  it('stores a huge result summary as capped JSON', async () => {
    configureInstrumentation({ resultSummary: (result) => result });
    const q = fixture('huge-result');
    await q.queue.add('big', {});
    q.worker(async () => ({ blob: 'z'.repeat(1_000_000) }));
    const [record] = await ledger.waitForRecords(q.name, 1);
    expect(record?.resultSummary).to.include({ truncated: true });
    expect(JSON.stringify(record?.resultSummary).length).to.be.at.most(2100);
  });

  it('stores the failure BullMQ records for a circular result', async () => {
    const q = fixture('circular');
    await q.queue.add('loop', {});
    q.worker(async () => {
      const result: { self?: unknown } = {};
      result.self = result;
      return result;
    });
    const [record] = await ledger.waitForRecords(q.name, 1);
    expect(record).to.deep.include({ status: 'FAILED', final: true });
    expect(record?.errorDetails?.name).to.equal('TypeError');
  });

  it('stores non-Error throws, and messages with characters PostgreSQL refuses', async () => {
    configureInstrumentation({ metadata: () => ({ lone: 'half \ud800 pair', nul: 'a\u0000b' }) });
    const q = fixture('throws');
    await q.queue.add('string', {});
    await q.queue.add('object', {});
    await q.queue.add('undefined', {});
    await q.queue.add('bad-text', {});
    q.worker(async (job) => {
      switch (job.name) {
        case 'string':
          throw 'plain string'; // eslint-disable-line @typescript-eslint/only-throw-error
        case 'object':
          throw { code: 42 }; // eslint-disable-line @typescript-eslint/only-throw-error
        case 'undefined':
          throw undefined; // eslint-disable-line @typescript-eslint/only-throw-error
        default:
          throw new Error('broken \ud83d text with \u0000 inside');
      }
    });
    const records = await ledger.waitForRecords(q.name, 4, (record) => record.errorDetails !== null);
    const byName = new Map(records.map((record) => [record.jobName, record]));
    expect(byName.get('string')?.errorDetails).to.deep.equal({ name: '_OTHER', message: 'plain string' });
    expect(byName.get('object')?.errorDetails).to.deep.equal({ name: '_OTHER', message: '{"code":42}' });
    // BullMQ cannot record `throw undefined`: the job stays active; the ledger says why.
    expect(byName.get('undefined')).to.deep.include({ status: 'PENDING', outcome: 'stalled', final: false });
    expect(byName.get('bad-text')?.errorDetails?.message).to.equal('broken \uFFFD text with \uFFFD inside');
    expect(byName.get('bad-text')?.metadata).to.deep.equal({ lone: 'half \uFFFD pair', nul: 'a\uFFFDb' });
  });
});
