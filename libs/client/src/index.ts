export {
  CouponClient,
  type CallOptions,
  type ClaimInput,
  type ClientState,
  type CouponClientOptions,
  type CouponInput,
  type RedeemInput,
  type ReverseInput,
} from './client';
export * from './outcomes';
export { CouponClientError, type ClientErrorCode } from './errors';
export { claimKeyFor, newClaimKey } from './idempotency';
export type { ClientMetrics, LocalReason, RetryReason } from './metrics';
export {
  claimMessage,
  couponMessage,
  LOCALES,
  momentOf,
  redemptionMessage,
  reversalMessage,
  transientMessage,
  zoneName,
  type Locale,
  type MessageContext,
} from './messages';
export { systemClientClock, type ClientClock, type Random } from './clock';
export { DEFAULT_HORIZON_MS } from './trust';
export { SlidingWindow } from './slidingWindow';
export { DEFAULT_BACKOFF, fullJitterBackoffMs, retryDelayMs, type BackoffOptions } from './backoff';
export { DEFAULT_RETRY_BUDGET, RetryBudget, type RetryBudgetOptions } from './retryBudget';
export { AdaptiveThrottle, DEFAULT_THROTTLE, type ThrottleOptions } from './throttle';
export {
  DEFAULT_SOLD_OUT_MEMORY,
  SoldOutMemory,
  type ClosedEntry,
  type ClosedReason,
  type SoldOutMemoryOptions,
} from './soldOutMemory';
export { UncertainClaims } from './uncertainClaims';
export {
  classifyNetworkError,
  DEFAULT_UNDICI_TRANSPORT,
  TransportError,
  UndiciTransport,
  type HttpRequest,
  type HttpResponse,
  type Transport,
  type UndiciTransportOptions,
} from './transport';
export type { Budget, Campaign, Coupon, CouponStatus, Redemption } from './wire';
