import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS_MAX_CONNECTIONS, createHardenedServer, sendJsonError } from '@coupons/runtime';
import type { Registry } from 'prom-client';

/**
 * The metrics port: GET /metrics for Prometheus, /healthz (process alive), /readyz (the last
 * round recorded without a fault). Internal only: the NetworkPolicy admits the monitoring
 * namespace and nothing else; hardened as the service's ports are all the same (timeouts, a
 * connection cap, JSON answers to what node refuses).
 */
export async function startMetricsServer(options: {
  registry: Registry;
  host: string;
  port: number;
  ready: () => boolean;
  /** A client's time to send its headers and request; the hardened server's default unless set. */
  requestTimeoutMs?: number;
}): Promise<{ server: Server; port: number }> {
  const hardening = {
    maxConnections: METRICS_MAX_CONNECTIONS,
    ...(options.requestTimeoutMs === undefined
      ? {}
      : { requestTimeoutMs: options.requestTimeoutMs }),
  };
  const server = createHardenedServer(hardening, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', 'GET or HEAD only', { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
        () => sendJsonError(res, 500, 'INTERNAL', 'metrics collection failed'),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const ready = options.ready();
      res
        .writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
    } else {
      sendJsonError(res, 404, 'NOT_FOUND', 'try GET /metrics, /healthz or /readyz');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
