#!/usr/bin/env node
// Runs the instrumentation tests against each BullMQ under test/compat/<dir>:
// installs it with `npm ci` when missing or stale, then runs mocha with
// BULLMQ_LEDGER_TEST_BULLMQ pointing at it. Exits non-zero on the first failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** Test files that need only what every supported BullMQ has. */
const common = [
  'consumer-outcomes',
  'control-flow',
  'opt-in-data',
  'producer',
  'sandboxed',
  'stalled',
  'thrown-values',
  'unpatch',
];
const suites = [
  // The oldest supported release: its Worker still has processJob-local handlers.
  { dir: 'test/compat/bullmq-5.0.0', files: common },
  // The latest 5.x, which also has BullMQ's own telemetry option.
  { dir: 'test/compat/bullmq-5.81.5', files: [...common, 'bullmq-telemetry'] },
];

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function ensureInstalled(dir) {
  const wanted = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')).dependencies.bullmq;
  const installed = path.join(root, dir, 'node_modules/bullmq/package.json');
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === wanted) return;
  console.log(`installing bullmq ${wanted} in ${dir}`);
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: path.join(root, dir), stdio: 'inherit' });
}

for (const { dir, files } of suites) {
  ensureInstalled(dir);
  console.log(`\n=== instrumentation tests against ${dir} ===`);
  const specs = files.map((name) => `test/instrumentation/${name}.test.ts`);
  const run = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/mocha/bin/mocha.js'), '--config', '.mocharc.cjs', ...specs],
    { cwd: root, stdio: 'inherit', env: { ...process.env, BULLMQ_LEDGER_TEST_BULLMQ: dir, BULLMQ_LEDGER_MOCHA_SPEC: 'cli' } },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}
