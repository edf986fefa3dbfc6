/**
 * The scenario shapes, read from the file the project's own runner reads too
 * (loadtests/runner/src/shapes.json), so k6 and the runner drive the same numbers. open() alone
 * resolves against the entry script; import.meta.resolve makes the path this module's.
 */
export interface Shapes {
  smoke: { ratePerSecond: number; durationS: number };
  flashCrowd: { peakFactor: number; rampUpS: number; holdS: number; rampDownS: number };
  trancheExhaustion: {
    ratePerSecond: number;
    durationS: number;
    probeRatePerSecond: number;
    probeDurationS: number;
  };
  retryStorm: { offeredFactor: number; rampUpS: number; holdS: number };
  soak: { loadFactor: number; rampUpS: number; holdS: number };
}

export const SHAPES = JSON.parse(
  open(import.meta.resolve('../../runner/src/shapes.json')),
) as Shapes;
