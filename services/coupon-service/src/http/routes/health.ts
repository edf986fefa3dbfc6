import type { RequestHandler } from 'express';
import type { ReadinessProbe } from '../../readiness';

export function healthHandlers(readiness: ReadinessProbe): {
  health: RequestHandler;
  ready: RequestHandler;
} {
  return {
    health: (_req, res) => {
      res.json({ status: 'ok' });
    },
    ready: async (_req, res) => {
      const report = await readiness.check();
      res.status(report.ready ? 200 : 503).json(report);
    },
  };
}
