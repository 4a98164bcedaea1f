/** Applies the user's `redact` to what a view shows of a job or an attempt, keeping the link identity. */
import type { JobSummary } from '../../audit/ledger-queries';
import type { ErrorDetailsColumn } from '../../schema/worker-job-record';
import type { RedactableJob } from '../options';

export function redactJob<T extends JobSummary & { resultSummary?: unknown; metadata?: unknown }>(
  job: T,
  redact: (job: RedactableJob) => RedactableJob,
): T {
  const shown = redact({
    queueName: job.queueName,
    jobId: job.jobId,
    jobName: job.jobName,
    errorDetails: job.errorDetails,
    ...('resultSummary' in job ? { resultSummary: job.resultSummary } : {}),
    ...('metadata' in job ? { metadata: job.metadata } : {}),
  });
  return {
    ...job,
    jobName: shown.jobName,
    errorDetails: shown.errorDetails,
    ...('resultSummary' in job ? { resultSummary: shown.resultSummary } : {}),
    ...('metadata' in job ? { metadata: shown.metadata } : {}),
  };
}

export function redactAttemptError(
  job: { readonly queueName: string; readonly jobId: string; readonly jobName: string | null },
  errorDetails: ErrorDetailsColumn | null,
  redact: (job: RedactableJob) => RedactableJob,
): ErrorDetailsColumn | null {
  return redact({ queueName: job.queueName, jobId: job.jobId, jobName: job.jobName, errorDetails }).errorDetails;
}
