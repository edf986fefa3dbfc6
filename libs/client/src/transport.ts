import { errors, Pool } from 'undici';

export interface HttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. /v1/campaigns/x/coupons. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string | undefined>;
  body: string;
}

/**
 * Whether a failed exchange may have reached the service: `connection` (no connection was made,
 * nothing was sent) or `no_answer` (the request may have been sent; its answer was lost).
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';

  constructor(
    readonly kind: 'connection' | 'no_answer',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * One HTTP exchange with the service. `signal` ends it (the attempt's deadline, the caller's
 * abort): the promise then rejects with the signal's reason. Network failures reject with a
 * TransportError.
 */
export interface Transport {
  send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface UndiciTransportOptions {
  /** Keep-alive connections to the service at most (requests beyond wait in undici's queue). */
  connections: number;
  /** An idle connection is closed after this (below the service's 5 s keep-alive). */
  keepAliveTimeoutMs: number;
  /** Opening a connection takes at most this. */
  connectTimeoutMs: number;
  /** Answers larger than this are not read (the contract's are a few KiB). */
  maxResponseBytes: number;
}

export const DEFAULT_UNDICI_TRANSPORT: UndiciTransportOptions = Object.freeze({
  connections: 16,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 1_000,
  maxResponseBytes: 1 << 20,
});

/** Errors that mean no connection was made, so the request never left. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Errors of an exchange that may have been sent. */
const MAYBE_SENT = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'HPE_INVALID_CONSTANT',
  'HPE_INVALID_VERSION',
  'HPE_INVALID_STATUS',
  'HPE_INVALID_HEADER_TOKEN',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
]);

/**
 * Classifies a failed exchange: `connection` when no connection was made, else `no_answer`
 * (whatever the other side wrote that could not be read as an answer, a broken status line,
 * framing or headers included, even where undici fails an internal assertion on it). Undefined
 * only for a request undici refused to send, a bug of the caller's, which stays an error.
 */
export function classifyNetworkError(err: unknown): TransportError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NOT_SENT.has(code))
    return new TransportError('connection', `no connection (${code})`, { cause: err });
  if (err instanceof errors.InvalidArgumentError || err instanceof errors.NotSupportedError)
    return undefined;
  const what =
    typeof code === 'string' && (MAYBE_SENT.has(code) || code.startsWith('HPE_'))
      ? code
      : err instanceof Error
        ? err.name
        : 'unreadable';
  return new TransportError('no_answer', `no answer (${what})`, { cause: err });
}

/** HTTP/1.1 over a bounded keep-alive pool of undici connections, one request at a time each. */
export class UndiciTransport implements Transport {
  private readonly pool: Pool;

  constructor(
    baseUrl: string,
    private readonly options: UndiciTransportOptions = DEFAULT_UNDICI_TRANSPORT,
  ) {
    const url = new URL(baseUrl);
    if (url.pathname !== '/' || url.search !== '')
      throw new RangeError(`baseUrl must be an origin without a path: ${baseUrl}`);
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      // The attempt's signal carries the deadline; no second set of timers per request.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    try {
      const response = await this.pool.request({
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: request.body ?? null,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.options.maxResponseBytes) {
          response.body.destroy();
          throw new TransportError(
            'no_answer',
            `answer larger than ${this.options.maxResponseBytes} bytes`,
          );
        }
        chunks.push(chunk);
      }
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(response.headers))
        headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      return {
        status: response.statusCode,
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw classifyNetworkError(err) ?? err;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
