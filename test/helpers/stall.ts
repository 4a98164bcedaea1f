/** A job that stalls for good: the setup the stalled-job tests share. */
import type { Job } from 'bullmq';
import type { QueueFixture } from './queues';
import { waitFor } from './wait';

/**
 * Worker A takes a new job of `q` and holds it without renewing its lock. Its
 * stalled checker finds the lock expired and, with maxStalledCount 0, marks
 * the job to fail; worker B picks it up and BullMQ fails it without running
 * the processor. `release()` lets A's processor return, too late: BullMQ
 * cannot record that attempt.
 */
export async function holdUntilStalled(q: QueueFixture): Promise<{ job: Job; release: () => void }> {
  const job = await q.queue.add('long-report', {}, { attempts: 3 });
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started = false;
  q.worker(
    async () => {
      started = true;
      await held;
      return 'late result';
    },
    { lockDuration: 200, skipLockRenewal: true, stalledInterval: 100, maxStalledCount: 0 },
  );
  await waitFor(() => started, { what: 'worker A to start the job' });
  q.worker(async () => 'should not run', { stalledInterval: 100, maxStalledCount: 0 });
  return { job, release };
}
