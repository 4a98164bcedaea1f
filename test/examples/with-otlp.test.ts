import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { WorkerJobRecord } from '../../schema';
import { openLedgerDb } from '../helpers/ledger-db';
import type { LedgerDb } from '../helpers/ledger-db';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { DATABASE_URL } from '../helpers/postgres';
import { uniqueName } from '../helpers/queues';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const JOBS = 400;

describe('examples/with-otlp: one provider, the backend sampled at 10%, the ledger complete', () => {
  let receiver: OtlpReceiver;
  let db: LedgerDb;
  before(async () => {
    receiver = new OtlpReceiver();
    db = await openLedgerDb('with-otlp');
  });
  after(async () => {
    await receiver.close();
    await db.close();
  });

  it('sends the backend exactly the sampled jobs (about 10%) and writes every job to the ledger', async () => {
    const endpoint = await receiver.listen();
    const queue = uniqueName('with-otlp');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/with-otlp/main.ts'], {
      cwd: root,
      timeout: 60_000,
      env: {
        ...process.env,
        QUEUE_NAME: queue,
        JOBS: String(JOBS),
        DATABASE_URL,
        LEDGER_SCHEMA: db.schema,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
      },
    });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      jobs: number;
      ledger: { written: number; dropped: number };
    };
    expect(summary.jobs).to.equal(JOBS);
    expect(summary.ledger.dropped).to.equal(0);

    const records = await db.orm.em.fork().find(WorkerJobRecord, { queueName: queue, status: 'COMPLETED' });
    expect(records).to.have.length(JOBS);
    const ratio = new TraceIdRatioBasedSampler(0.1);
    const sampled = records
      .filter(
        (record) =>
          ratio.shouldSample(ROOT_CONTEXT, record.traceId ?? '').decision === SamplingDecision.RECORD_AND_SAMPLED,
      )
      .map((record) => record.spanId)
      .sort();
    const received = receiver.spans
      .filter((span) => span.name === `process ${queue}`)
      .map((span) => span.spanId)
      .sort();
    expect(received).to.deep.equal(sampled);
    expect(received.length / JOBS).to.be.within(0.04, 0.18);
    console.log(
      `      (${received.length} of ${JOBS} attempts reached the OTLP backend; all ${JOBS} are in the ledger)`,
    );
  });
});
