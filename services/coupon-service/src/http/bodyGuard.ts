import express, { type RequestHandler } from 'express';
import { ApiError } from './errors';

export const MAX_BODY_BYTES = 16 * 1024;

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return (
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  );
}

/**
 * A body must be JSON (415 otherwise) of at most 16 KiB (413, refused from Content-Length before
 * reading when the client declares it). Bodies are parsed strictly: objects and arrays only.
 */
export function jsonBody(): RequestHandler[] {
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
    requireJson,
    express.json({ limit: MAX_BODY_BYTES, strict: true, type: 'application/json' }),
  ];
}
