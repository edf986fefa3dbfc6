import type { PreparedAnswer } from '@coupons/admission';
import { ERROR_STATUS, type ErrorCode } from '@coupons/contract';

/** Every error code of the HTTP contract, with its status: the contract package's. */
export { ERROR_STATUS, type ErrorCode } from '@coupons/contract';

export interface ErrorExtras {
  retryAfterSeconds?: number;
  details?: readonly { field: string; problem: string }[];
  [extra: string]: unknown;
}

/** An answer in the contract's error shape; thrown or passed to next() by handlers. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extras: ErrorExtras = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

/** The contract's error body. */
export function errorJson(error: ApiError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message, ...error.extras } });
}

/**
 * An error answer as written (one writeHead, one end): built once for the front door's fixed
 * refusals, or per error by sendApiError (http/errorMiddleware.ts). The one error writer.
 */
export function preparedError(
  error: ApiError,
  headers: Readonly<Record<string, string>> = {},
): PreparedAnswer {
  const body = Buffer.from(errorJson(error));
  const all: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(body.length),
    'cache-control': 'no-store',
    ...headers,
  };
  if (error.extras.retryAfterSeconds !== undefined)
    all['retry-after'] = String(error.extras.retryAfterSeconds);
  if (error.code === 'UNAUTHENTICATED') all['www-authenticate'] = 'Bearer';
  return Object.freeze({
    status: error.status,
    rawHeaders: Object.freeze(Object.entries(all).flat()),
    body,
  });
}

/** body-parser's error types, mapped to the contract. */
export function fromBodyParser(err: { type?: unknown; status?: unknown }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ApiError('INVALID_REQUEST', 'request body is not valid JSON', {
        details: [{ field: 'body', problem: 'malformed JSON' }],
      });
    case 'entity.too.large':
      return new ApiError('PAYLOAD_TOO_LARGE', 'request body is larger than 16 KiB');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'request body must be UTF-8 JSON');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError('INVALID_REQUEST', 'request body could not be read');
    default:
      // Any other client error express or a body parser raises (a 4xx with a status): the
      // contract's 400, never a 500 for what the caller sent.
      return typeof err.status === 'number' && err.status >= 400 && err.status < 500
        ? new ApiError('INVALID_REQUEST', 'the request could not be read')
        : undefined;
  }
}
