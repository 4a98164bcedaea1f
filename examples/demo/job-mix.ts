/** The demo's workload: what a real queue sees in a few seconds. */
import type { JobsOptions } from 'bullmq';

export interface DemoJob {
  readonly name: string;
  readonly data: { readonly index: number };
  readonly opts?: JobsOptions;
}

const retried = { attempts: 3, backoff: { type: 'fixed', delay: 100 } } as const;

/** 58 jobs: fast and slow ones, retried then successful, failed after all attempts, unrecoverable, delayed. */
export function demoJobs(): DemoJob[] {
  const jobs: DemoJob[] = [];
  const add = (name: string, count: number, opts?: JobsOptions): void => {
    for (let i = 0; i < count; i++)
      jobs.push({ name, data: { index: jobs.length }, ...(opts === undefined ? {} : { opts }) });
  };
  add('send-email', 30);
  add('render-report', 10);
  add('charge-card', 6, retried);
  add('sync-crm', 4, retried);
  add('import-csv', 3, { attempts: 3 });
  add('send-reminder', 5, { delay: 1500 });
  return jobs;
}

/** How each kind of job behaves; `fail(unrecoverable)` throws the right error. */
export async function runDemoJob(
  job: { name: string; attemptsMade: number; data: { index: number } },
  fail: (message: string, unrecoverable: boolean) => never,
): Promise<unknown> {
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  switch (job.name) {
    case 'render-report':
      await pause(300 + ((job.data.index * 37) % 500));
      return { pages: 3 + (job.data.index % 5) };
    case 'charge-card':
      await pause(20);
      if (job.attemptsMade < 1 + (job.data.index % 2)) fail('card gateway timeout', false);
      return { charged: true };
    case 'sync-crm':
      await pause(15);
      return fail('CRM API answered 503 Service Unavailable', false);
    case 'import-csv':
      return fail('the CSV has no header row', true);
    default:
      await pause(10 + ((job.data.index * 13) % 40));
      return { sent: true };
  }
}
