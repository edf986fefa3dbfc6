/**
 * Where an iteration falls in its scenario's timeline, as a tag on everything the VU emits, so the
 * summary can show a phase (the hold at 10x) or a window (the last ten minutes of a soak) on its
 * own rather than blended into the whole run.
 */

import exec from 'k6/execution';

/** Seconds since this iteration's scenario started. */
export function scenarioElapsedSeconds(): number {
  return (Date.now() - exec.scenario.startTime) / 1000;
}

/** Tags every metric this VU emits from now on: http_reqs and the custom metrics alike. */
export function tagVu(name: string, value: string): void {
  exec.vu.metrics.tags[name] = value;
}
