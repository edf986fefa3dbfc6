import { performance } from 'node:perf_hooks';
import { HEADERS } from '@coupons/contract';
import type { ConnectionSet } from './connections';
import { Exchange, type ExchangeOwner } from './exchange';
import { Fifo } from './fifo';
import { Tally, type GeneratorFacts } from './tally';

/** Lower case, as undici sends header names it is given. */
const REQUEST_TIMEOUT = HEADERS.requestTimeoutMs.toLowerCase();

/** How often deadlines are checked; answers are classified by their exact latency regardless. */
const SWEEP_INTERVAL_MS = 5;

export type Outcome = 'answer' | 'timeout' | 'error';

/** The oldest exchange of `queue` not yet settled, left at its head; settled ones are dropped. */
function firstUnsettled(queue: Fifo<Exchange>): Exchange | undefined {
  for (;;) {
    const exchange = queue.peek();
    if (exchange === undefined || !exchange.settled) return exchange;
    queue.shift();
  }
}

/**
 * What open and closed runs share: sending exchanges over a bounded set of connections, waiting
 * for a free one in order, and counting every exchange exactly once as an answer, a timeout
 * (deadline passed, connection wait included) or an error.
 */
export abstract class RunCore<Report> implements ExchangeOwner {
  protected readonly tally = new Tally();
  /** exchanges sent and not yet settled */
  protected outstanding = 0;
  /** every unsettled exchange in send order, which is deadline order */
  private readonly pending = new Fifo<Exchange>();
  /** exchanges waiting for a connection, in send order */
  private readonly waiting = new Fifo<Exchange>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly startUtilization = performance.eventLoopUtilization();
  private readonly startCpu = process.cpuUsage();
  private pumping = false;
  private resolve: (report: Report) => void = () => {};
  private reject: (error: unknown) => void = () => {};

  constructor(
    protected readonly connections: ConnectionSet,
    protected readonly timeoutMs: number,
  ) {}

  /** The run's promise: `start` runs at once, and finish() settles the promise. */
  protected begin(start: () => void): Promise<Report> {
    return new Promise<Report>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      start();
    });
  }

  /**
   * Closes the connections, then rejects with the run's failure (asked for once they are closed)
   * or resolves with its report.
   */
  protected finish(failure: () => unknown, report: (generator: GeneratorFacts) => Report): void {
    this.closeCore().then(
      (generator) => {
        const error = failure();
        if (error !== undefined) this.reject(error);
        else this.resolve(report(generator));
      },
      (error: unknown) => this.reject(error),
    );
  }

  protected startSweeping(): void {
    this.sweeper = setInterval(this.sweep, SWEEP_INTERVAL_MS);
  }

  private async closeCore(): Promise<GeneratorFacts> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    const utilization = performance.eventLoopUtilization(this.startUtilization).utilization;
    const cpu = process.cpuUsage(this.startCpu);
    await this.connections.close();
    return {
      utilization,
      cpuMs: (cpu.user + cpu.system) / 1000,
      connectionsOpened: this.connections.count,
    };
  }

  /** Called once per exchange, when it is counted. */
  protected abstract settled(exchange: Exchange, outcome: Outcome, now: number): void;

  protected send(exchange: Exchange): void {
    if (exchange.counted) this.tally.sent += 1;
    this.outstanding += 1;
    this.pending.push(exchange);
    const client = this.waiting.length === 0 ? this.connections.acquire(this.mayGrow()) : undefined;
    if (client === undefined) {
      if (exchange.counted) this.tally.waitedForConnection += 1;
      this.waiting.push(exchange);
    } else {
      this.dispatch(exchange, client);
    }
  }

  started(exchange: Exchange): void {
    if (exchange.client !== null && this.connections.opened(exchange.client)) this.pump();
  }

  answered(exchange: Exchange): void {
    const now = performance.now();
    this.handBack(exchange);
    if (exchange.settled) return;
    if (now > exchange.deadline) {
      this.settle(exchange, 'timeout', now);
    } else {
      if (exchange.counted) {
        this.tally.recordAnswer(exchange.status, exchange.hasRetryAfter, now - exchange.startedAt);
      }
      this.settle(exchange, 'answer', now);
    }
  }

  failed(exchange: Exchange, _error: Error): void {
    const now = performance.now();
    // undici reports a failed connect from inside its own error handling: handing the connection
    // to a waiting request right now would dispatch on it before undici has finished (its
    // assert(client[kSize] === 0) then throws from a socket 'error' event and kills the process).
    queueMicrotask(() => this.handBack(exchange));
    if (exchange.settled) return;
    this.settle(exchange, now >= exchange.deadline ? 'timeout' : 'error', now);
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (;;) {
      const exchange = firstUnsettled(this.pending);
      if (exchange === undefined || exchange.deadline > now) break;
      this.pending.shift();
      // In flight, undici reports the abort at once and failed() counts the timeout.
      exchange.abandon();
      if (!exchange.settled) this.settle(exchange, 'timeout', now);
    }
    // Connections may open again now that the generator has caught up.
    if (this.waiting.length > 0) this.pump();
  };

  /**
   * Whether another connection may be opened for a request that finds none idle. When the
   * generator itself is late, its connections only look busy because it has not read their
   * answers yet; opening more (0.5-1 ms of CPU each here) would make it later still.
   */
  protected mayGrow(): boolean {
    return true;
  }

  private settle(exchange: Exchange, outcome: Outcome, now: number): void {
    exchange.settled = true;
    this.outstanding -= 1;
    if (exchange.counted) {
      if (outcome === 'timeout') this.tally.timeouts += 1;
      else if (outcome === 'error') this.tally.errors += 1;
    }
    this.settled(exchange, outcome, now);
  }

  /**
   * Sends the exchange with what is left of its deadline in X-Request-Timeout-Ms, as a caller that
   * keeps to the contract does: a request that waited here for a connection tells the service
   * how little time it has left, and the service can refuse it at once instead of serving it for
   * a caller that has already given up.
   */
  private dispatch(exchange: Exchange, client: NonNullable<Exchange['client']>): void {
    exchange.client = client;
    const leftMs = Math.max(1, Math.floor(exchange.deadline - performance.now()));
    const { spec } = exchange;
    client.dispatch(
      { ...spec, headers: { ...spec.headers, [REQUEST_TIMEOUT]: String(leftMs) } },
      exchange,
    );
  }

  private handBack(exchange: Exchange): void {
    const client = exchange.client;
    if (client === null) return;
    exchange.client = null;
    // A connection that failed to open is no longer being opened either.
    this.connections.opened(client);
    this.connections.release(client);
    this.pump();
  }

  /** Gives free connections to waiting exchanges, skipping those whose deadline already passed. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const exchange = firstUnsettled(this.waiting);
        if (exchange === undefined) break;
        const client = this.connections.acquire(this.mayGrow());
        if (client === undefined) break;
        this.waiting.shift();
        this.dispatch(exchange, client);
      }
    } finally {
      this.pumping = false;
    }
  }
}
