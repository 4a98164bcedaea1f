-- The four audit queries of the product spec, on the ledger's schema.
-- Run them with psql against the ledger's database (set search_path to the
-- ledger's schema if it is not public). test/audit/audit-queries-sql.test.ts
-- runs each one against a seeded ledger, so that they keep working.

-- name: top-10-slowest
-- The 10 slowest jobs of the last 24 hours (their newest attempt).
select queue_name, job_id, job_name, status, duration_ms, completed_at, trace_id
from worker_job_records
where completed_at >= now() - interval '24 hours' and duration_ms is not null
order by duration_ms desc
limit 10;

-- name: success-rate-by-queue
-- Success rate by queue over the last 7 days: completed / (completed + failed for good).
select queue_name,
  count(*) filter (where status = 'COMPLETED') as completed,
  count(*) filter (where status = 'FAILED' and final) as failed,
  round(100.0 * count(*) filter (where status = 'COMPLETED')
    / nullif(count(*) filter (where status = 'COMPLETED' or (status = 'FAILED' and final)), 0), 2) as success_rate_percent
from worker_job_records
where completed_at >= now() - interval '7 days'
group by queue_name
order by queue_name;

-- name: failures-last-hour
-- Failures in the last hour, with the error and the trace to open in the tracing backend.
select queue_name, job_id, job_name, attempt, final, error_details ->> 'name' as error,
  error_details ->> 'message' as message, completed_at, trace_id
from worker_job_records
where status = 'FAILED' and completed_at >= now() - interval '1 hour'
order by completed_at desc;

-- name: stuck-retrying
-- Jobs stuck retrying: the newest attempt failed, BullMQ will retry, at least 3 failures so far.
-- retry_count counts the attempts before the newest one, which failed too: retry_count + 1 failures.
select queue_name, job_id, job_name, retry_count, retry_count + 1 as failures,
  error_details ->> 'message' as last_error, completed_at
from worker_job_records
where status = 'FAILED' and not final and retry_count >= 3 - 1
order by retry_count desc, completed_at desc;
