import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '@coupons/telemetry';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness';
import type { RedisClient } from './redis/client';

export interface ServerOptions {
  host: string;
  port: number;
  /** Internal only (Prometheus); HOST unless set. */
  metricsHost?: string;
  metricsPort: number;
  /** Bounded connections: past this many a new API connection is closed at once. */
  maxConnections?: number;
  /** The kernel's accept queue for the API port. */
  listenBacklog?: number;
  /** A client's time to send its headers, and its whole request (both ports); default 10 s. */
  requestTimeoutMs?: number;
  shutdownGraceMs: number;
  /** Called first when draining starts (admission answers 503 UNAVAILABLE from then on). */
  onDrain?: () => void;
  /** Stops what uses Redis in the background (the Redis-tracked clock) before Redis closes. */
  beforeRedisQuit?: () => void;
}

export type ShutdownOutcome = 'clean' | 'forced';

/** How often idle keep-alive sockets are closed while in-flight requests finish. */
const DRAIN_POLL_MS = 50;

const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * How often node checks those timeouts (its default, 30 s, lets a slow client hold a socket up
 * to 40 s past them): within a second of their value.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;
/** The metrics port serves one scraper or two. */
const METRICS_MAX_CONNECTIONS = 64;

function timeouts(requestTimeoutMs: number) {
  return {
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    // The front door answers a request without Host in the contract's JSON (node: an empty 400).
    requireHostHeader: false,
  };
}

/** What node answers itself (a malformed request, headers too large, too slow), in the contract's shape. */
function clientErrorAnswer(err: NodeJS.ErrnoException): string {
  const [status, reason, code, message]: [number, string, string, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'HEADERS_TOO_LARGE',
          'the request headers are too large',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in time']
        : [400, 'Bad Request', 'INVALID_REQUEST', 'the request is not valid HTTP'];
  return rawAnswer(status, reason, code, message);
}

function rawAnswer(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Node's parse errors in the contract's shape; never on top of a request still being served. */
function answerClientErrors(
  server: Server,
  serving: WeakMap<Socket, ServerResponse> = new WeakMap(),
): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const inFlight = serving.get(socket);
    if (inFlight !== undefined) {
      inFlight.shouldKeepAlive = false;
      inFlight.once('finish', () => socket.end());
      return;
    }
    socket.end(clientErrorAnswer(err));
  });
}

/**
 * Answers, in the contract's shape, what node refuses before the handler runs, and never answers
 * on top of a request it already handed over: when node fails to parse bytes that follow a
 * request still being served (pipelined garbage), that request is answered for what it did and
 * the connection closes after it, so a coupon issued is never answered 400.
 */
function answerWhatNodeRefuses(server: Server, handler: RequestListener): RequestListener {
  const serving = new WeakMap<Socket, ServerResponse>();
  answerClientErrors(server, serving);
  // An Expect other than 100-continue: node's default is a 417 without a body.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(417, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(
      JSON.stringify({
        error: { code: 'EXPECTATION_FAILED', message: 'only Expect: 100-continue is supported' },
      }),
    );
  });
  // CONNECT asks for a tunnel: not a path this service routes (node would close without a word).
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end(
      rawAnswer(
        400,
        'Bad Request',
        'INVALID_REQUEST',
        'the request target must be a path (origin-form, starting with "/")',
      ),
    );
  });
  const tracked: RequestListener = (req, res) => {
    serving.set(req.socket, res);
    res.once('finish', () => {
      if (serving.get(req.socket) === res) serving.delete(req.socket);
    });
    handler(req, res);
  };
  // Expect: 100-continue goes through the front door like any request; it invites the body
  // only once the key, the scope and admission let the request in (node would invite anyone).
  server.on('checkContinue', tracked);
  return tracked;
}

/**
 * The API listener and the metrics listener, and the one way to stop them: readiness goes false
 * at once, no new connections are accepted, in-flight requests finish (within the grace), Redis
 * closes last.
 */
export class CouponServer {
  readonly api: Server;
  readonly metrics: Server;
  private shutdownPromise: Promise<ShutdownOutcome> | undefined;

  constructor(
    /** The API's request handler: admission in front of express. */
    handler: RequestListener,
    registry: Registry,
    private readonly redis: RedisClient,
    private readonly readiness: Readiness,
    private readonly logger: Logger,
    private readonly options: ServerOptions,
  ) {
    // Slow-loris guard: a client gets 10 s to send its headers and its request, checked each second.
    const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    const limits = timeouts(requestTimeoutMs);
    this.api = createServer(limits);
    this.api.on('request', answerWhatNodeRefuses(this.api, handler));
    // Beyond what the shed path can answer, work waits in the kernel (the accept queue, socket
    // buffers) and the caller's timeout takes over; these bound what this process holds.
    if (options.maxConnections !== undefined) this.api.maxConnections = options.maxConnections;
    this.metrics = createServer(limits, (req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res
          .writeHead(404, { 'Content-Type': 'application/json' })
          .end('{"error":{"code":"NOT_FOUND","message":"try GET /metrics"}}');
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: unknown) => {
          this.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    answerClientErrors(this.metrics);
    this.metrics.maxConnections = METRICS_MAX_CONNECTIONS;
  }

  async listen(): Promise<{ port: number; metricsPort: number }> {
    const port = await listenOn(
      this.api,
      this.options.host,
      this.options.port,
      this.options.listenBacklog,
    );
    const metricsPort = await listenOn(
      this.metrics,
      this.options.metricsHost ?? this.options.host,
      this.options.metricsPort,
    );
    return { port, metricsPort };
  }

  /** Idempotent: a second signal waits for the same shutdown. */
  shutdown(reason: string): Promise<ShutdownOutcome> {
    this.shutdownPromise ??= this.drain(reason);
    return this.shutdownPromise;
  }

  private async drain(reason: string): Promise<ShutdownOutcome> {
    const started = Date.now();
    this.readiness.startDraining(started);
    this.options.onDrain?.();
    this.logger.info(
      { reason, graceMs: this.options.shutdownGraceMs },
      'draining: readiness is false, finishing in-flight requests',
    );

    const apiClosed = new Promise<void>((resolve) => this.api.close(() => resolve()));
    const idleReaper = setInterval(() => this.api.closeIdleConnections(), DRAIN_POLL_MS);
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'forced'>((resolve) => {
      graceTimer = setTimeout(
        () => resolve('forced'),
        Math.max(0, this.options.shutdownGraceMs - 250),
      );
    });
    const outcome = await Promise.race([apiClosed.then(() => 'clean' as const), graceOver]);
    clearInterval(idleReaper);
    clearTimeout(graceTimer);
    if (outcome === 'forced') {
      this.logger.error('shutdown grace over: closing the connections still open');
      this.api.closeAllConnections();
    }

    this.metrics.closeAllConnections();
    await new Promise<void>((resolve) => this.metrics.close(() => resolve()));
    this.options.beforeRedisQuit?.();
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.logger.info({ outcome, tookMs: Date.now() - started }, 'shutdown complete');
    return outcome;
  }
}

function listenOn(server: Server, host: string, port: number, backlog?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ...(backlog === undefined ? {} : { backlog }) }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
