import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_MAX_CONNECTIONS, createHardenedServer, sendJsonError } from '@coupons/runtime';
import type { Logger } from '@coupons/telemetry';
import type { Registry } from 'prom-client';
import type { ReadinessProbe } from './readiness';
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
    private readonly readiness: ReadinessProbe,
    private readonly logger: Logger,
    private readonly options: ServerOptions,
  ) {
    // Slow-loris guard, connection cap and JSON answers to what node refuses: both ports.
    const hardening = { requestTimeoutMs: options.requestTimeoutMs };
    this.api = createHardenedServer(
      { ...hardening, maxConnections: options.maxConnections },
      handler,
    );
    this.metrics = createHardenedServer(
      { ...hardening, maxConnections: METRICS_MAX_CONNECTIONS },
      (req, res) => {
        if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
          sendJsonError(res, 404, 'NOT_FOUND', 'try GET /metrics');
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
          (err: unknown) => {
            this.logger.error({ err }, 'metrics collection failed');
            sendJsonError(res, 500, 'INTERNAL', 'metrics collection failed');
          },
        );
      },
    );
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
