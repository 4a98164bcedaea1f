/**
 * Percentiles from the rollups' log-scale duration histogram (see
 * schema/duration-buckets.ts). Each order statistic is placed inside the
 * bucket that holds the exact value, so an estimate is off by less than one
 * bucket's width (19%), and by a few percent when buckets hold many values.
 */
import { bucketLowerBound, bucketUpperBound } from '../schema/duration-buckets';

/** Number of durations in a histogram (`counts[i]` is the count of bucket i + 1). */
export function histogramCount(counts: readonly number[]): number {
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

/**
 * The `q` quantile (0 to 1) of the durations counted in `counts`, as
 * `percentile_cont` computes it (interpolating between the two order
 * statistics around rank q × (n - 1)); null when there are none.
 */
export function estimateQuantile(counts: readonly number[], q: number): number | null {
  const total = histogramCount(counts);
  if (total <= 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * (total - 1);
  const lower = Math.floor(rank);
  const low = orderStatistic(counts, lower);
  if (rank === lower) return low;
  return low + (rank - lower) * (orderStatistic(counts, lower + 1) - low);
}

/**
 * The k-th smallest duration (0-based): the values of a bucket are spread
 * evenly on a log scale across it, the k-th placed at its share of the bucket.
 */
function orderStatistic(counts: readonly number[], k: number): number {
  let before = 0;
  let last = 0;
  for (let index = 0; index < counts.length; index++) {
    const inBucket = counts[index] ?? 0;
    if (inBucket <= 0) continue;
    last = index + 1;
    if (k < before + inBucket) return valueInBucket(index + 1, (k - before + 0.5) / inBucket);
    before += inBucket;
  }
  return valueInBucket(last, 1);
}

function valueInBucket(bucket: number, fraction: number): number {
  const low = bucketLowerBound(bucket);
  const high = bucketUpperBound(bucket);
  if (!Number.isFinite(high)) return low;
  if (low <= 0) return high * fraction;
  return low * (high / low) ** fraction;
}
