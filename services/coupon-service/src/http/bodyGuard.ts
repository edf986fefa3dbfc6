import express, { type RequestHandler } from 'express';
import { ApiError, sendApiError } from './errors';

export const MAX_BODY_BYTES = 16 * 1024;

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return (
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  );
}

/**
 * A body must arrive within `timeoutMs` of the route accepting the request (408, and the
 * connection is closed: a slow upload must not hold an admission slot), be JSON (415 otherwise)
 * of at most 16 KiB (413, refused from Content-Length before reading when the client declares
 * it). Bodies are parsed strictly: objects and arrays only.
 */
export function jsonBody(timeoutMs: number): RequestHandler[] {
  const deadline: RequestHandler = (req, res, next) => {
    if (req.complete || !hasBody(req.headers)) {
      next();
      return;
    }
    const timer = setTimeout(() => {
      if (req.complete || res.headersSent) return;
      res.setHeader('Connection', 'close');
      sendApiError(
        res,
        new ApiError(
          'REQUEST_TIMEOUT',
          `the request body did not arrive within ${timeoutMs} ms; send it whole, then retry`,
        ),
      );
    }, timeoutMs);
    const done = () => clearTimeout(timer);
    req.once('end', done);
    req.once('close', done);
    next();
  };
  const requireJson: RequestHandler = (req, _res, next) => {
    if (hasBody(req.headers) && req.is('application/json') === false) {
      next(
        new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as Content-Type: application/json'),
      );
      return;
    }
    next();
  };
  return [
    deadline,
    requireJson,
    express.json({ limit: MAX_BODY_BYTES, strict: true, type: 'application/json' }),
  ];
}
