import { LedgerFault, type LedgerFaultReason } from '@coupons/budget-ledger';

/**
 * Why a money operation could not be answered. Every kind fails closed (503): nothing is issued
 * or redeemed without the script's own answer, and nothing is guessed locally.
 */
export type Fault =
  | { kind: 'ledger'; reason: LedgerFaultReason; message: string }
  | { kind: 'redis'; message: string };

/** Errors ioredis raises when Redis cannot be reached or does not answer in time. */
const UNREACHABLE_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable",
  'Command timed out',
  "Cluster isn't ready",
  'Cluster is disconnected',
  'None of startup nodes is available',
  'Too many Cluster redirections',
  'Node is disconnected',
  'connect ETIMEDOUT',
  'Socket timeout',
];

/** redis-errors classes for a connection that broke under a command. */
const UNREACHABLE_NAMES = new Set([
  'AbortError',
  'InterruptError',
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  'ParserError',
]);

/** Socket errors seen when a node is down or restarting. */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/**
 * Redis replies that mean "not now" rather than "your script is wrong": a cluster failing over,
 * a node loading its data or out of memory. A Lua error (ERR ...) is a bug: it stays a 500.
 */
const UNAVAILABLE_REPLY =
  /^(CLUSTERDOWN|TRYAGAIN|LOADING|READONLY|MASTERDOWN|BUSY|OOM|NOREPLICAS|MOVED|ASK)\b/;

/**
 * The one place that decides whether an error from a ledger call is a fault (503) or a bug
 * (undefined: the error middleware answers 500 with an errorId).
 */
export function classifyFault(err: unknown): Fault | undefined {
  if (err instanceof LedgerFault)
    return { kind: 'ledger', reason: err.reason, message: err.message };
  if (!(err instanceof Error)) return undefined;
  const errno = (err as NodeJS.ErrnoException).code;
  if (
    UNREACHABLE_NAMES.has(err.name) ||
    (typeof errno === 'string' && UNREACHABLE_ERRNOS.has(errno)) ||
    UNREACHABLE_MESSAGES.some((known) => err.message.startsWith(known))
  )
    return { kind: 'redis', message: err.message };
  if (err.name === 'ReplyError' && UNAVAILABLE_REPLY.test(err.message))
    return { kind: 'redis', message: err.message };
  return undefined;
}

/**
 * How long a caller should wait after a fault. Redis trouble is usually seconds (a restart, a
 * failover); a missing or mismatched ledger needs an operator, so callers back off longer.
 */
export function faultRetryAfterSeconds(fault: Fault): number {
  if (fault.kind === 'redis') return 2;
  switch (fault.reason) {
    case 'ledger_missing':
    case 'config_mismatch':
    case 'rolled_back':
    case 'redis_settings':
      return 30;
    case 'clock':
    case 'code_collision':
    case 'replication':
    case 'unverified':
      return 1;
  }
}
