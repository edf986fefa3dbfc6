import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { writeAnswer } from '@coupons/admission';
import type { Logger } from '@coupons/telemetry';
import { ApiError, fromBodyParser, preparedError } from '../answers/errors';
import { logOf, type Served } from './requestLog';

/**
 * Writes an error in the contract's shape: the same answer the front door writes before express
 * (answers/errors.ts's preparedError), built for this one error.
 */
function sendApiError(res: Served, error: ApiError): void {
  writeAnswer(res, preparedError(error));
}

/** An error handler in express's shape (four parameters), callable without express. */
export type ErrorLayer = (
  err: unknown,
  req: IncomingMessage,
  res: Served,
  next: () => void,
) => void;

/** The one place where results and faults become HTTP answers. A 500 never shows a stack. */
export function errorMiddleware(logger: Logger): ErrorLayer {
  return (err, _req, res, _next) => {
    if (res.headersSent) {
      // Answered already (a body cut short after its 408, a caller gone): nothing to send. Said
      // through the service's logger, never express's final handler (raw stacks on stderr).
      logOf(res, logger).warn({ err }, 'error after the answer was sent');
      if (!res.writableFinished) res.destroy();
      return;
    }
    const known =
      err instanceof ApiError
        ? err
        : typeof err === 'object' && err !== null
          ? fromBodyParser(err as { type?: unknown })
          : undefined;
    if (known !== undefined) {
      sendApiError(res, known);
      return;
    }
    const errorId = randomUUID();
    logOf(res, logger).error({ err, errorId }, 'unhandled error');
    sendApiError(res, new ApiError('INTERNAL', 'internal error', { errorId }));
  };
}
