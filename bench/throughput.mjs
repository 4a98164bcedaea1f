// Throughput of a BullMQ worker, plain and instrumented, measured in the same run.
// Each run is a fresh process; rounds interleave the variants so that drift in the
// machine's speed hits all of them alike. Prints jobs/s (median of the rounds) and
// the ratio to plain BullMQ.
//
//   npm run bench                      # the instrumentation: 20,000 jobs, concurrency 1 and 50
//   npm run bench:pipeline             # the whole product into PostgreSQL
//   node bench/throughput.mjs --jobs 20000 --rounds 5 --concurrency 1,50 --variants plain,ledger
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,50' },
    variants: { type: 'string', default: 'plain,otel-context,ledger,bullmq-otel' },
  },
});
const jobs = Number(values.jobs);
const rounds = Number(values.rounds);
const concurrencies = values.concurrency.split(',').map(Number);
const variants = values.variants.split(',');
if (!variants.includes('plain')) throw new Error('--variants must include plain: every ratio is to plain BullMQ');
const runner = path.join(import.meta.dirname, 'throughput-run.mjs');

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), ${jobs} no-op jobs, ${rounds} rounds`);
const results = new Map(); // `${variant}@${concurrency}` -> runs
const ratios = new Map(); // `${variant}@${concurrency}` -> jobs/s divided by plain's in the same round
for (let round = 1; round <= rounds; round++) {
  for (const concurrency of concurrencies) {
    // Rotate the order each round so no variant always runs first.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    const thisRound = new Map();
    for (const variant of order) {
      const out = execFileSync(process.execPath, [runner, variant, String(concurrency), String(jobs)], { encoding: 'utf8' });
      const run = JSON.parse(out.trim().split('\n').at(-1));
      const key = `${variant}@${concurrency}`;
      results.set(key, [...(results.get(key) ?? []), run]);
      thisRound.set(variant, run.jobsPerSecond);
      console.log(
        `round ${round} concurrency ${String(concurrency).padStart(2)} ${variant.padEnd(12)} ${run.jobsPerSecond.toFixed(0).padStart(6)} jobs/s` +
          ` ${run.cpuMicrosPerJob.toFixed(1).padStart(6)} CPU µs/job  (${run.spans} spans exported` +
          `${run.ledgerRows === undefined ? '' : `, ${run.ledgerRows} ledger rows verified, drained in ${run.drainSeconds.toFixed(2)} s after the last job`})`,
      );
    }
    // The machine's speed drifts over minutes: a ratio within one round compares runs made side by side.
    for (const variant of variants) {
      const key = `${variant}@${concurrency}`;
      ratios.set(key, [...(ratios.get(key) ?? []), thisRound.get(variant) / thisRound.get('plain')]);
    }
  }
}

console.log('\n| concurrency | variant | jobs/s (median) | min | max | vs plain BullMQ (median of per-round ratios) | per-round ratio min–max | CPU µs/job (median) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const concurrency of concurrencies) {
  for (const variant of variants) {
    const runs = results.get(`${variant}@${concurrency}`) ?? [];
    const rates = runs.map((run) => run.jobsPerSecond);
    const ratio = ratios.get(`${variant}@${concurrency}`) ?? [];
    const pct = (x) => `${(x * 100).toFixed(1)}%`;
    console.log(
      `| ${concurrency} | ${variant} | ${median(rates).toFixed(0)} | ${Math.min(...rates).toFixed(0)} | ${Math.max(...rates).toFixed(0)}` +
        ` | ${pct(median(ratio))} | ${pct(Math.min(...ratio))}–${pct(Math.max(...ratio))} | ${median(runs.map((run) => run.cpuMicrosPerJob)).toFixed(1)} |`,
    );
  }
}
