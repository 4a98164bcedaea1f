#!/usr/bin/env node
// Compatibility runs, after the main suite:
// - the instrumentation tests against each BullMQ under test/compat/bullmq-*:
//   installed with `npm ci` when missing or stale, then mocha with
//   BULLMQ_LEDGER_TEST_BULLMQ pointing at it;
// - the packed package installed into an application on the OpenTelemetry 3.x
//   line (test/compat/otel-3): `npm ls` must be clean and smoke.cjs must pass.
// Exits non-zero on the first failure. Needs `npm run build` first (npm test does it).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
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
  'host-safety',
];
const suites = [
  // The oldest supported release: its Worker still has processJob-local handlers.
  { dir: 'test/compat/bullmq-5.0.0', files: common },
  // The latest 5.x, which also has BullMQ's own telemetry option.
  { dir: 'test/compat/bullmq-5.81.5', files: [...common, 'bullmq-telemetry'] },
];

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function ensureInstalled(dir) {
  const wanted = readJson(path.join(root, dir, 'package.json')).dependencies;
  const stale = Object.entries(wanted).some(([name, version]) => {
    const installed = path.join(root, dir, 'node_modules', name, 'package.json');
    return !existsSync(installed) || readJson(installed).version !== version;
  });
  if (!stale) return;
  console.log(`installing ${dir}`);
  execFileSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: path.join(root, dir), stdio: 'inherit' });
}

function otel3Smoke() {
  const dir = path.join(root, 'test/compat/otel-3');
  ensureInstalled('test/compat/otel-3');
  console.log('\n=== the packed package in an application on the OpenTelemetry 3.x line ===');
  const packDir = mkdtempSync(path.join(os.tmpdir(), 'bullmq-ledger-pack-'));
  try {
    const tarball = execFileSync(npm, ['pack', '--silent', '--pack-destination', packDir], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1);
    execFileSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', path.join(packDir, tarball)], { cwd: dir, stdio: 'inherit' });
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
  execFileSync(npm, ['ls', '--all'], { cwd: dir, stdio: 'ignore' }); // throws on an invalid or missing dependency
  execFileSync(process.execPath, ['smoke.cjs'], { cwd: dir, stdio: 'inherit' });
  execFileSync(process.execPath, ['ledger-smoke.cjs'], { cwd: dir, stdio: 'inherit' });
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

otel3Smoke();
