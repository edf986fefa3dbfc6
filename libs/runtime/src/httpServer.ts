import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** A client's time to send its headers, and its whole request, unless told otherwise. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Open connections one listener holds unless told otherwise; past it a new one is closed. */
export const DEFAULT_MAX_CONNECTIONS = 4096;
/** A metrics port serves one scraper or two (and a probe). */
export const METRICS_MAX_CONNECTIONS = 64;

const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * How often node checks those timeouts (its default, 30 s, lets a slow client hold a socket up
 * to 40 s past them): within a second of their value.
 */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface HardenedServerOptions {
  /** A client's time to send its headers, and its whole request; default 10 s. */
  requestTimeoutMs?: number;
  /** Open connections at most; past it a new connection is closed at once. */
  maxConnections?: number;
}

/**
 * An HTTP server that bounds what a slow, idle or malformed client can hold: headers and
 * request within the timeout (checked each second), idle keep-alive closed after 5 s, a
 * connection cap, and what node refuses before the handler runs answered as JSON
 * (`{ "error": { "code", "message" } }`) instead of an empty 400. Every listener of both
 * deployables is made here.
 */
export function createHardenedServer(
  options: HardenedServerOptions,
  handler: RequestListener,
): Server {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = createServer({
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    // A request without Host is the handler's to answer, in JSON (node: an empty 400).
    requireHostHeader: false,
  });
  // Beyond this, work waits in the kernel (the accept queue, socket buffers) and the caller's
  // timeout takes over; the cap bounds what this process holds.
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('request', answerWhatNodeRefuses(server, handler));
  return server;
}

/** An error answer in the same shape as every other. */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message } });
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      ...headers,
    })
    .end(body);
}

/** What node answers itself (a malformed request, headers too large, too slow), as JSON. */
function clientErrorAnswer(err: NodeJS.ErrnoException): string {
  const [status, reason, code, message]: [number, string, string, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'HEADERS_TOO_LARGE',
          'the request headers are too large',
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request did not arrive in time']
        : [400, 'Bad Request', 'INVALID_REQUEST', 'the request is not valid HTTP'];
  return rawAnswer(status, reason, code, message);
}

function rawAnswer(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Answers, as JSON, what node refuses before the handler runs, and never answers on top of a
 * request it already handed over: when node fails to parse bytes that follow a request still
 * being served (pipelined garbage), that request is answered for what it did and the
 * connection closes after it, so a coupon issued is never answered 400.
 */
function answerWhatNodeRefuses(server: Server, handler: RequestListener): RequestListener {
  const serving = new WeakMap<Socket, ServerResponse>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const inFlight = serving.get(socket);
    if (inFlight !== undefined) {
      inFlight.shouldKeepAlive = false;
      inFlight.once('finish', () => socket.end());
      return;
    }
    socket.end(clientErrorAnswer(err));
  });
  // An Expect other than 100-continue: node's default is a 417 without a body.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
    sendJsonError(res, 417, 'EXPECTATION_FAILED', 'only Expect: 100-continue is supported'),
  );
  // CONNECT asks for a tunnel: not a path anything here routes (node would close without a word).
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.end(
      rawAnswer(
        400,
        'Bad Request',
        'INVALID_REQUEST',
        'the request target must be a path (origin-form, starting with "/")',
      ),
    );
  });
  const tracked: RequestListener = (req, res) => {
    serving.set(req.socket, res);
    res.once('finish', () => {
      if (serving.get(req.socket) === res) serving.delete(req.socket);
    });
    handler(req, res);
  };
  // Expect: 100-continue goes to the handler like any request: it invites the body only once
  // it has decided to read it (node would invite anyone).
  server.on('checkContinue', tracked);
  return tracked;
}
