import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { uniqueName } from '../helpers/queues';

const run = promisify(execFile);
const example = path.resolve(__dirname, '../../examples/register');

interface PrintedSpan {
  name: string;
  scope: string;
  attributes: Record<string, unknown>;
}

async function printedSpans(args: string[], queue: string): Promise<PrintedSpan[]> {
  const { stdout } = await run(process.execPath, args, {
    cwd: example,
    env: { ...process.env, QUEUE_NAME: queue },
    timeout: 30_000,
  });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as PrintedSpan);
}

describe('examples/register: registering at process start, as a child process', () => {
  it('CommonJS: node -r ./tracing.cjs app.cjs gets a span per attempt and the send span', async () => {
    const queue = uniqueName('register-cjs');
    const spans = await printedSpans(['-r', './tracing.cjs', 'app.cjs'], queue);
    const attempts = spans.filter((span) => span.scope === 'bullmq-ledger' && span.name === `process ${queue}`);
    expect(attempts.map((span) => span.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(['retry', 'completed']);
    expect(spans.some((span) => span.name === `send ${queue}`)).to.equal(true);
  });

  it('ESM: node --import ./tracing.mjs app.mjs, with `import { Worker } from "bullmq"`', async () => {
    const queue = uniqueName('register-esm');
    const spans = await printedSpans(['--import', './tracing.mjs', 'app.mjs'], queue);
    const attempts = spans.filter((span) => span.scope === 'bullmq-ledger' && span.name === `process ${queue}`);
    expect(attempts.map((span) => span.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(['retry', 'completed']);
    expect(spans.some((span) => span.name === `send ${queue}`)).to.equal(true);
  });
});
