import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import * as attr from '../../src/attributes';
import { uniqueName } from '../helpers/queues';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const fixture = path.join(root, 'test/fixtures/esm-app');

interface PrintedSpan {
  name: string;
  kind: number;
  scope: string;
  attributes: Record<string, unknown>;
}

describe('an ESM application (node --import), as a child process', () => {
  before(function () {
    if (!existsSync(path.join(root, 'dist/src/index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    }
  });

  it('gets a span per attempt from `import { Worker } from "bullmq"`', async () => {
    const queue = uniqueName('esm');
    const { stdout } = await run(
      process.execPath,
      ['--import', path.join(fixture, 'register.mjs'), path.join(fixture, 'app.mjs')],
      { cwd: root, env: { ...process.env, QUEUE_NAME: queue }, timeout: 30_000 },
    );
    const spans: PrintedSpan[] = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => {
        const span: PrintedSpan = JSON.parse(line) as PrintedSpan;
        return span;
      });
    const attempts = spans.filter((span) => span.scope === 'bullmq-ledger' && span.name === `process ${queue}`);
    expect(attempts.map((span) => span.attributes[attr.ATTR_ATTEMPT_OUTCOME])).to.deep.equal(['retry', 'completed']);
    expect(spans.some((span) => span.name === `send ${queue}`)).to.equal(true);
  });
});
