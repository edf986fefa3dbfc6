import type { ErrorCode } from './wire';

/**
 * Why a call threw: a fault the caller cannot act on in the conversation (a wrong key, a bug),
 * never an expected outcome, and never an answer outside the contract (that is the `protocol`
 * outcome).
 *
 * - a service error code with the status the contract gives it (INVALID_REQUEST, UNAUTHENTICATED,
 *   FORBIDDEN, NOT_FOUND, CAMPAIGN_NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE,
 *   UNSUPPORTED_MEDIA_TYPE, IDEMPOTENCY_KEY_REUSED, HEADERS_TOO_LARGE, INTERNAL, ...), whenever
 *   the route has no outcome for it;
 * - INVALID_ARGUMENT: refused here before any request (an id the service would refuse);
 * - CLOSED: the client was closed.
 */
export type ClientErrorCode = ErrorCode | 'INVALID_ARGUMENT' | 'CLOSED';

export class CouponClientError extends Error {
  override readonly name = 'CouponClientError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly details: {
      /** The HTTP status, when the service answered. */
      status?: number;
      /** INTERNAL's id, to find the logged stack on the service. */
      errorId?: string;
      /** INVALID_REQUEST's fields. */
      fields?: readonly { field: string; problem: string }[];
    } = {},
  ) {
    super(message);
  }
}
