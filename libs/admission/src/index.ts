export { isBulk, PRIORITIES, type Priority } from './request';
export {
  ConcurrencyLimit,
  DEFAULT_CONCURRENCY_LIMIT,
  type ConcurrencyLimitOptions,
  type Permit,
  type PermitOutcome,
} from './saturation';
export {
  Deadline,
  deadlineFrom,
  DEFAULT_DEADLINE,
  REQUEST_TIMEOUT_HEADER,
  TIMED_OUT,
  within,
  type DeadlineOptions,
} from './request';
export {
  DEFAULT_EVENT_LOOP_GUARD,
  EventLoopGuard,
  type DemandCounts,
  perfHooksSampler,
  type EventLoopGuardOptions,
  type EventLoopSample,
  type EventLoopSampler,
  type EventLoopThreshold,
} from './saturation';
export {
  AdmissionGate,
  DEFAULT_RETRY,
  type AdmissionGateOptions,
  type AdmissionSnapshot,
  type Admitted,
  type Decision,
  type GateRequest,
  type RetryOptions,
} from './gate';
export type * from './layers';
export {
  RejectionCache,
  SHED_REASONS,
  SoldOutAnswers,
  writeAnswer,
  type PreparedAnswer,
  type Rejection,
  type RejectionCode,
  type ShedReason,
  type SoldOutBody,
} from './rejection';
export { RequestLimiter, type LimitVerdict, type RequestLimitOptions } from './requestLimiter';
export { retryAfterSeconds, type AtHint, type BackoffHint, type RetryHint } from './retryAfter';
export {
  DEFAULT_SOLD_OUT_CACHE,
  SoldOutCache,
  type SoldOutCacheOptions,
  type SoldOutEntry,
} from './soldOutCache';
export { BlockList, DEFAULT_MAX_BLOCKED } from './requestLimiter';
export { TokenBucket, type TokenBucketOptions } from './tokenBucket';
