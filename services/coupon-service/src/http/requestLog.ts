import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADERS, REQUEST_ID_PATTERN } from '@coupons/contract';
import { methodLabel, redactUrl, type HttpMetrics, type Logger } from '@coupons/telemetry';
import { type RequestContext, contextOf } from '../frontDoor/frontDoor';
import type { CallContext } from '../ledger/ledgerGateway';
import type { RouteName } from '../frontDoor/routeTable';

/** The request line's target as logged: the rest of a long one costs log, not insight. */
const MAX_LOGGED_URL = 256;

/** Probes are polled every few seconds: their answers are counted, not logged. */
const QUIET_ROUTES: ReadonlySet<RouteName> = new Set(['health', 'ready']);

/** Where a request keeps its logger's maker: res.locals (made by the front door, kept by express). */
type WithLog = { locals: Record<string, unknown> };

/**
 * A response as the HTTP layers see it, served through express or straight from the front door
 * (app.ts): node's, with the locals the front door attached.
 */
export type Served = ServerResponse & WithLog;

/** One layer before a route's handler, in express's shape, callable without express. */
export type Layer = (req: IncomingMessage, res: Served, next: () => void) => void;

/**
 * The request's logger (its id, method and target), made on first use. Kept in res.locals, not a
 * WeakMap keyed by the request: a weak entry per request costs the GC more than the logger saves.
 */
export function logOf(res: WithLog, fallback?: Logger): Logger {
  const log = res.locals.log as (() => Logger) | undefined;
  if (log !== undefined) return log();
  if (fallback === undefined) throw new Error('a request logged before requestLog saw it');
  return fallback;
}

/**
 * One layer for what every request gets: an X-Request-Id (the caller's when sane, so one id
 * follows a request across services), the HTTP metrics, and a log line when its level is on.
 * The per-request child logger is made only when something is logged (logOf, on first use):
 * at LOG_LEVEL=warn a served claim logs nothing and pays for no logger.
 */
export function requestLog(logger: Logger, metrics: HttpMetrics): Layer {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const id =
      typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    res.setHeader(HEADERS.requestId, id);
    let child: Logger | undefined;
    res.locals.log = () =>
      (child ??= logger.child({ req: { id, method: req.method, url: loggedUrl(req.url ?? '') } }));
    res.once('finish', () => {
      const context = (res.locals as { context?: RequestContext }).context;
      const labels = {
        method: methodLabel(req.method),
        route: context?.route.path ?? 'unmatched',
        status: String(res.statusCode),
      };
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, seconds);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      const quiet =
        level === 'info' && context !== undefined && QUIET_ROUTES.has(context.route.name);
      if (!logger.isLevelEnabled(level) || quiet) return;
      logOf(res, logger)[level](
        { res: { statusCode: res.statusCode }, responseTime: Math.round(seconds * 1000) },
        'request completed',
      );
    });
    next();
  };
}

/** The target as logged: redacted (codes, secrets), at most MAX_LOGGED_URL characters. */
export function loggedUrl(url: string): string {
  return redactUrl(url.slice(0, MAX_LOGGED_URL * 2)).slice(0, MAX_LOGGED_URL);
}

/** The context of a ledger call made for a request: its logger (made on first use) and deadline. */
export function callContext(_req: object, res: WithLog): CallContext {
  const context = contextOf(res);
  return new RequestCall(res, context.admitted?.deadline, context.startedAt);
}

/**
 * A class, not an object literal with a getter: V8 builds such a literal the slow way, and this
 * runs for every ledger call.
 */
class RequestCall implements CallContext {
  constructor(
    private readonly res: WithLog,
    readonly deadline: CallContext['deadline'],
    readonly startedAt: number,
  ) {}

  /** Read only when something is logged: the request's logger is made on first use. */
  get log(): Logger {
    return logOf(this.res);
  }
}
