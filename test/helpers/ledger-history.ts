/** A ledger's history built by hand: many jobs, attempts, workers and durations, deterministic. */
import type { LedgerRows } from '../../exporter/ledger-rows';
import { T0, attemptRows, pendingRow } from './ledger-rows';

const HOUR = 3_600_000;

/** A small deterministic PRNG, so that a failure can be replayed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Every attempt of `jobs` jobs enqueued over `hours` hours from `start` (T0: noon UTC): 1 to 3 attempts, the last one
 * completed, failed or still retrying, on one of 4 workers, durations from
 * 0.2 ms to a minute; and some jobs only enqueued.
 */
export function ledgerHistory(jobs: number, seed: number, hours = 6, start = T0): LedgerRows[] {
  const next = random(seed);
  const rows: LedgerRows[] = [];
  for (let i = 0; i < jobs; i++) {
    const queue = `q${i % 3}`;
    const enqueuedAt = start + Math.floor(next() * hours * HOUR);
    if (next() < 0.1) {
      rows.push(pendingRow(queue, `job-${i}`, enqueuedAt));
      continue;
    }
    const attempts = 1 + Math.floor(next() * 3);
    const last = next();
    let endedAt = enqueuedAt;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const outcome = attempt < attempts ? 'retry' : last < 0.7 ? 'completed' : last < 0.9 ? 'failed' : 'retry';
      const base = attemptRows(queue, `job-${i}`, attempt, outcome, { enqueuedAt });
      const durationMs = 0.2 * 300_000 ** next();
      const startedAt = endedAt + Math.floor(next() * 20 * 60_000);
      endedAt = startedAt + durationMs;
      const pid = Math.floor(next() * 4);
      rows.push({
        record: { ...base.record, startedAt, completedAt: endedAt, durationMs },
        attempt:
          base.attempt === undefined
            ? undefined
            : { ...base.attempt, startedAt, endedAt, durationMs, processPid: pid, hostName: pid === 3 ? null : 'host' },
      });
    }
  }
  return rows;
}

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
