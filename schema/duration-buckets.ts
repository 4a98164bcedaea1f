/**
 * The log-scale duration histogram of the hourly rollups. Bucket 1 holds
 * durations under 1 ms; bucket b (2 to LAST - 1) holds [2^((b-2)/4), 2^((b-1)/4))
 * ms, four buckets per doubling (each 19% wider than the one before); the
 * last bucket holds everything from 2^27.5 ms (about 2.1 days) up.
 *
 * The SQL function `ledger_duration_bucket` (Migration20261206000000Rollups)
 * puts a duration in its bucket; this module says what a bucket covers.
 */
export const BUCKETS_PER_DOUBLING = 4;

/** Number of buckets: the length of a full `duration_buckets` array. */
export const DURATION_BUCKET_COUNT = 112;

/** Lower bound, in ms, of 1-based bucket `b`. */
export function bucketLowerBound(b: number): number {
  return b <= 1 ? 0 : 2 ** ((b - 2) / BUCKETS_PER_DOUBLING);
}

/** Upper bound, in ms, of 1-based bucket `b` (Infinity for the last). */
export function bucketUpperBound(b: number): number {
  return b >= DURATION_BUCKET_COUNT ? Infinity : 2 ** ((b - 1) / BUCKETS_PER_DOUBLING);
}
