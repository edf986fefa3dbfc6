import type { RequestHandler } from 'express';
import { methodLabel, type HttpMetrics } from '@coupons/telemetry';

/** Labels stay bounded: the matched route pattern, never the raw URL (ids, codes). */
export function requestMetrics(metrics: HttpMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route =
        req.route === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`;
      const labels = { method: methodLabel(req.method), route, status: String(res.statusCode) };
      metrics.requests.inc(labels);
      metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
