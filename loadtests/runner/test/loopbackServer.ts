import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { warmUpGenerator } from '../src';

export interface LoopbackServer {
  baseUrl: string;
  /** performance.now() of each request's arrival (headers parsed) */
  arrivals: number[];
  /** requests being handled when each one arrived, itself included */
  inFlightAtArrival: number[];
  maxInFlight: number;
  /** requests being handled now */
  inFlight: number;
  close(): Promise<void>;
}

/** Servers started and not yet closed by `loopbackFrame`'s afterEach. */
const open = new Set<{ close(): Promise<void> }>();

/**
 * The frame of a file that runs the generator against these servers: the generator's one-off
 * warm-up before the file's tests (so that no test's timing pays for it), and every server a test
 * started closed after that test.
 */
export function loopbackFrame(): void {
  beforeAll(async () => {
    await warmUpGenerator();
  });
  afterEach(async () => {
    const closing = [...open];
    open.clear();
    await Promise.all(closing.map((server) => server.close()));
  });
}

/** A real node:http server on an ephemeral loopback port that records what reaches it. */
export async function startLoopbackServer(
  handle: (request: IncomingMessage, response: ServerResponse, body: string) => void,
): Promise<LoopbackServer> {
  let inFlight = 0;
  const state = {
    arrivals: [] as number[],
    inFlightAtArrival: [] as number[],
    maxInFlight: 0,
  };
  const server = createServer((request, response) => {
    inFlight += 1;
    state.arrivals.push(performance.now());
    state.inFlightAtArrival.push(inFlight);
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      inFlight -= 1;
    };
    response.on('finish', done);
    response.on('close', done);
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handle(request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    open.delete(entry);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const entry = { close };
  open.add(entry);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get arrivals() {
      return state.arrivals;
    },
    get inFlightAtArrival() {
      return state.inFlightAtArrival;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    close,
  };
}

/** Answers after delayMs, unless the client has gone. */
export function answerAfter(response: ServerResponse, delayMs: number, body = 'ok'): void {
  const timer = setTimeout(() => response.end(body), delayMs);
  response.on('close', () => clearTimeout(timer));
}

/** A loopback server that answers every request after delayMs. */
export function startSlowServer(delayMs: number): Promise<LoopbackServer> {
  return startLoopbackServer((_request, response) => answerAfter(response, delayMs));
}
