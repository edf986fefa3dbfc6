export { runFailover, type FailoverOptions, type FailoverResult } from './failover';
export { takeInventory, type Inventory } from './inventory';
export { Fleet, ServicePod, type FleetSettings } from './pods';
export { SteadyLoad, type ClaimRecord, type SteadyLoadOptions } from './steadyLoad';
export { formatFailovers, formatLosses, formatRecorderFaults } from './report';
export { runLoss, type LossKind, type LossOptions, type LossResult } from './loss';
export {
  runRecorderFaults,
  type RecorderFaultsOptions,
  type RecorderFaultsResult,
} from './recorderFaults';
export { CuttableProxy } from './cuttableProxy';
export {
  runRestoreRace,
  type RestoreRaceOptions,
  type RestoreRaceResult,
  type RestoreRaceTrial,
} from './restoreRace';
