import * as hdr from 'hdr-histogram-js';
import type { LatencySummary } from './types';

/** Microsecond resolution, 3 significant digits, grows as needed (a 2 s timeout is 2e6 µs). */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

export function recordMs(histogram: hdr.Histogram, ms: number): void {
  histogram.recordValue(ms <= 0 ? 0 : Math.round(ms * 1000));
}

export function summarize(histogram: hdr.Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const max = histogram.maxValue;
  // A percentile is its bucket's upper bound, which can pass the exact maximum by a bucket.
  const at = (percentile: number): number =>
    Math.min(histogram.getValueAtPercentile(percentile), max) / 1000;
  return { count, p50: at(50), p90: at(90), p99: at(99), max: max / 1000 };
}
