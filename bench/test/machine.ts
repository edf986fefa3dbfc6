import type { BenchResults } from '../src/results';

/** The machine of a results file made up for a test: two cores, pinned, idle before the run. */
export const TEST_MACHINE: BenchResults['machine'] = {
  cpuModel: 'cpu',
  cpus: 2,
  node: 'v20',
  redis: '7',
  kernel: '6',
  pinned: true,
  busyBefore: [0, 0],
};
