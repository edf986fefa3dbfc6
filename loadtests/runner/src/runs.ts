import { startClosedLoop } from './closedLoop';
import { startOpenModel } from './openModel';
import type { ClosedLoopOptions, ClosedLoopReport, LoadReport, OpenModelOptions } from './types';
import { warmUpGenerator } from './warmUp';

/** The open model (see startOpenModel), after the generator's one-off warm-up in this process. */
export async function runOpenModel(options: OpenModelOptions): Promise<LoadReport> {
  await warmUpGenerator();
  return startOpenModel(options);
}

/** The closed loop (see startClosedLoop), after the generator's one-off warm-up in this process. */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopReport> {
  await warmUpGenerator();
  return startClosedLoop(options);
}
