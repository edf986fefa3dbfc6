import { Client } from 'undici';

/**
 * At most this many connections are being opened at once. Opening one costs the generator about
 * 0.5-1 ms of CPU here; without a bound, a 10 ms pause of the server at 6,000/s opens 60 at once,
 * the generator stalls, more requests find no idle connection, and it spirals to hundreds.
 * Requests that wait meanwhile keep their deadline from their scheduled time, so nothing is hidden.
 */
export const MAX_OPENING = 16;
/** Below this many connections, one is opened whenever none is idle, however late the generator. */
export const OPEN_FREELY_BELOW = 16;

/**
 * Up to `max` keep-alive connections to one origin, one request at a time on each (pipelining 1).
 * undici's Pool scans every client on each dispatch, which costs a lot with 1,000 connections
 * that are all busy under overload; here an idle connection is a pop from a stack.
 */
export class ConnectionSet {
  private readonly idle: Client[] = [];
  private readonly opening = new Set<Client>();
  private readonly all: Client[] = [];
  private readonly origin: string;

  constructor(
    baseUrl: string,
    private readonly max: number,
    connectTimeoutMs: number,
  ) {
    const url = new URL(baseUrl);
    if (url.pathname !== '/' || url.search !== '') {
      throw new RangeError(`baseUrl must be an origin without a path: ${baseUrl}`);
    }
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`connections must be an integer >= 1: ${max}`);
    }
    this.origin = url.origin;
    this.options = {
      pipelining: 1,
      // The run enforces its own deadline from each request's scheduled time; undici's
      // per-request timers would only cost CPU.
      headersTimeout: 0,
      bodyTimeout: 0,
      connectTimeout: connectTimeoutMs,
    };
  }

  private readonly options: Client.Options;

  /**
   * An idle connection; or a new one while fewer than max exist, fewer than MAX_OPENING are being
   * opened and (past OPEN_FREELY_BELOW) mayGrow; or undefined. Call opened() when its first
   * request starts or fails.
   */
  acquire(mayGrow: boolean): Client | undefined {
    const client = this.idle.pop();
    if (client !== undefined) return client;
    const count = this.all.length;
    if (count >= this.max || this.opening.size >= MAX_OPENING) return undefined;
    if (!mayGrow && count >= OPEN_FREELY_BELOW) return undefined;
    const created = new Client(this.origin, this.options);
    this.all.push(created);
    this.opening.add(created);
    return created;
  }

  /** true when this frees a slot for opening another connection */
  opened(client: Client): boolean {
    return this.opening.size > 0 && this.opening.delete(client);
  }

  release(client: Client): void {
    this.idle.push(client);
  }

  get count(): number {
    return this.all.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((client) => client.destroy()));
  }
}
