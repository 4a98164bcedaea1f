/** Per worker identity: reliability and failures by error name, from ledger counts. Pure functions, no I/O. */
import { reliabilityScore } from './health';

/** A worker as the ledger knows it: service, host and pid of its process (each may be unknown). */
export interface WorkerIdentity {
  readonly serviceName: string | null;
  readonly hostName: string | null;
  readonly processPid: number | null;
}

/** Attempts that started in a range, of one worker. */
export interface WorkerCounts extends WorkerIdentity {
  readonly attempts: number;
  /** Failed attempts (retried or failed for good) and stalled ones. */
  readonly failures: number;
  readonly stalled: number;
  readonly lastSeen: Date | null;
}

export interface ErrorCount {
  /** The error's name; `Stalled` for a stalled attempt, `Error` when the ledger has no name. */
  readonly errorName: string;
  readonly failures: number;
}

export interface WorkerErrorCount extends WorkerIdentity, ErrorCount {}

export interface WorkerHealth extends WorkerIdentity {
  /** 95% Wilson lower bound of the attempt success ratio, stalled attempts counted as failures. */
  readonly reliability: number;
  readonly attempts: number;
  readonly failures: number;
  readonly stalled: number;
  /** failures / attempts (0 with no attempt). */
  readonly failureRatio: number;
  /** Most frequent first. */
  readonly failuresByError: readonly ErrorCount[];
  readonly lastSeen: Date | null;
}

function keyOf(worker: WorkerIdentity): string {
  return JSON.stringify([worker.serviceName, worker.hostName, worker.processPid]);
}

/** Each worker with its reliability and its failures by error name; least reliable first. */
export function judgeWorkers(counts: readonly WorkerCounts[], errors: readonly WorkerErrorCount[]): WorkerHealth[] {
  const byWorker = new Map<string, ErrorCount[]>();
  for (const error of errors) {
    const list = byWorker.get(keyOf(error)) ?? [];
    list.push({ errorName: error.errorName, failures: error.failures });
    byWorker.set(keyOf(error), list);
  }
  return counts
    .map((worker) => ({
      serviceName: worker.serviceName,
      hostName: worker.hostName,
      processPid: worker.processPid,
      reliability: reliabilityScore(worker.attempts - worker.failures, worker.attempts),
      attempts: worker.attempts,
      failures: worker.failures,
      stalled: worker.stalled,
      failureRatio: worker.attempts === 0 ? 0 : worker.failures / worker.attempts,
      failuresByError: [...(byWorker.get(keyOf(worker)) ?? [])].sort(
        (a, b) => b.failures - a.failures || a.errorName.localeCompare(b.errorName),
      ),
      lastSeen: worker.lastSeen,
    }))
    .sort((a, b) => a.reliability - b.reliability || b.attempts - a.attempts);
}
