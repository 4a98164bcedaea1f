import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { bullmq } from '../helpers/bullmq';
import { ChildScript } from '../helpers/child';
import { REDIS, uniqueName } from '../helpers/queues';
import { waitFor } from '../helpers/wait';

const WORKER = path.resolve(__dirname, '../../examples/alerting/worker.ts');
const RULES = path.resolve(__dirname, '../../alerts/prometheus-rules.yml');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The sum of the samples named `name` whose labels include every `label="value"`. */
function sample(scrape: string, name: string, labels: Record<string, string>): number | undefined {
  const lines = scrape
    .split('\n')
    .filter(
      (candidate) =>
        candidate.startsWith(`${name}{`) &&
        Object.entries(labels).every(([key, value]) => candidate.includes(`${key}="${value}"`)),
    );
  return lines.length === 0
    ? undefined
    : lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('examples/alerting: a worker scraped by Prometheus', function () {
  this.timeout(60_000);
  const queueName = uniqueName('alerting');
  let child: ChildScript | undefined;

  after(async () => {
    await child?.kill('SIGTERM');
    const queue = new bullmq.Queue(queueName, { connection: REDIS });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('exposes every series the alert rules read, with the counts of the jobs that ran', async () => {
    const port = await freePort();
    child = new ChildScript(WORKER, {
      METRICS_PORT: String(port),
      QUEUE_NAME: queueName,
      REDIS_URL: `redis://${REDIS.host}:${REDIS.port}`,
    });
    await child.waitForLine((line) => line.startsWith('metrics: http://'), 'the metrics URL');
    const q = { messaging_destination_name: queueName };
    let scrape = '';
    // 10 jobs: 8 completed, 1 retried then completed, 1 failed for good after 2 attempts.
    await waitFor(
      async () => {
        scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return (
          sample(scrape, 'bullmq_ledger_job_outcomes_total', { ...q, bullmq_ledger_job_outcome: 'completed' }) === 9 &&
          sample(scrape, 'bullmq_ledger_job_outcomes_total', { ...q, bullmq_ledger_job_outcome: 'failed' }) === 1
        );
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `the job outcomes of ${queueName} in the scrape` },
    );
    // 12 attempts, 3 of them failed: the retried job's first, both of the job that failed for good.
    expect(sample(scrape, 'messaging_client_consumed_messages_total', q)).to.equal(12);
    expect(sample(scrape, 'messaging_client_consumed_messages_total', { ...q, error_type: 'Error' })).to.equal(3);
    expect(sample(scrape, 'messaging_process_duration_count', { ...q, error_type: 'Error' })).to.equal(3);
    expect(
      sample(scrape, 'bullmq_ledger_attempt_outcomes_total', { ...q, bullmq_ledger_attempt_outcome: 'retry' }),
    ).to.equal(2);
    expect(sample(scrape, 'messaging_process_duration_bucket', { ...q, le: '+Inf' })).to.equal(12);
    expect(sample(scrape, 'bullmq_ledger_queue_waiting', q)).to.equal(0);
    expect(sample(scrape, 'bullmq_ledger_queue_oldest_waiting_age', q)).to.equal(0);
    expect(sample(scrape, 'bullmq_ledger_queue_paused', q)).to.equal(0);

    // Every metric the rules read is one this worker exposes (recording rules, with a colon, aside).
    const rules = readFileSync(RULES, 'utf8');
    const referenced = new Set(rules.match(/\b(?:bullmq_ledger|messaging)_[a-z_]+\b(?!:)/g) ?? []);
    expect(referenced.size).to.be.greaterThan(3);
    const exposed = new Set(
      scrape
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.slice(0, line.search(/[{ ]/))),
    );
    const labels = new Set([
      'messaging_system',
      'messaging_operation_name',
      'messaging_destination_name',
      'bullmq_ledger_job_outcome',
      'bullmq_ledger_attempt_outcome',
      'bullmq_ledger_exporter_result',
    ]);
    // The ledger pipeline's own counter comes from a LedgerSpanProcessor, which this worker does not run.
    const fromTheLedger = new Set(['bullmq_ledger_exporter_records_total']);
    const missing = [...referenced].filter(
      (name) => !labels.has(name) && !fromTheLedger.has(name) && !exposed.has(name),
    );
    expect(missing, 'metric names in the rules that the exporter does not produce').to.deep.equal([]);
  });
});
