export { ArrivalSchedule } from './arrivalSchedule';
export { formatReport } from './formatReport';
export { DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT_MS } from './openModel';
export { runClosedLoop, runOpenModel } from './runs';
export {
  flashCrowd,
  retryStorm,
  scale,
  smoke,
  soak,
  totalDurationMs,
  trancheExhaustion,
} from './scenarios';
export { isShedAnswer } from './tally';
export { newLatencyHistogram, recordMs, summarize } from './latency';
export { warmUpGenerator } from './warmUp';
export type {
  ClosedLoopOptions,
  ClosedLoopReport,
  LatencySummary,
  LoadReport,
  OpenModelOptions,
  RequestSpec,
  ResponseHeaders,
  Retry,
  Stage,
} from './types';
export {
  claimRequest,
  claimRequests,
  ExhaustionBook,
  populationOf,
  retryAfterMs,
  retryDelayMs,
  RetryStormBook,
  type ClaimTarget,
  type ExhaustionSummary,
  type Population,
  type PopulationTally,
} from './claims';
export {
  formatScenarioResult,
  runScenario,
  SCENARIOS,
  stagesFor,
  type ScenarioName,
  type ScenarioOptions,
  type ScenarioResult,
} from './scenarioRun';
