import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { PACKAGE_NAME, PACKAGE_VERSION, SUPPORTED_BULLMQ_VERSIONS } from '../../src';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

interface PackageJson {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  exports: Record<string, { types: string; default: string } | string>;
}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;

describe('the published package', () => {
  it('reports the name and version of package.json as its instrumentation scope', () => {
    expect([PACKAGE_NAME, PACKAGE_VERSION]).to.deep.equal([pkg.name, pkg.version]);
  });

  it('patches the BullMQ range it declares as peer dependency', () => {
    expect(SUPPORTED_BULLMQ_VERSIONS).to.deep.equal([pkg.peerDependencies.bullmq]);
  });

  it('ships a JavaScript file and type declarations for every entry point', () => {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(path.join(root, target.default)), `${entry} code (run npm run build)`).to.equal(true);
      expect(existsSync(path.join(root, target.types)), `${entry} types`).to.equal(true);
    }
  });

  it('loads with require() from a CommonJS application', async () => {
    const script = `
      const root = require('bullmq-ledger');
      require('bullmq-ledger/exporter');
      require('bullmq-ledger/schema');
      require('bullmq-ledger/audit');
      console.log(typeof root.BullMQInstrumentation, root.ATTR_ATTEMPT_OUTCOME);`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: root });
    expect(stdout.trim()).to.equal('function bullmq_ledger.attempt.outcome');
  });

  it('loads with import from an ESM application, with named exports', async () => {
    const script = `
      import { BullMQInstrumentation, ATTR_ATTEMPT_OUTCOME } from 'bullmq-ledger';
      await import('bullmq-ledger/exporter');
      await import('bullmq-ledger/schema');
      await import('bullmq-ledger/audit');
      console.log(typeof BullMQInstrumentation, ATTR_ATTEMPT_OUTCOME);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout.trim()).to.equal('function bullmq_ledger.attempt.outcome');
  });
});
