import { performance } from 'node:perf_hooks';
import { ConnectionSet } from './connections';
import { Exchange } from './exchange';
import { DEFAULT_TIMEOUT_MS } from './openModel';
import { RunCore, type Outcome } from './runCore';
import type { ClosedLoopOptions, ClosedLoopReport } from './types';

/**
 * Closed loop: `concurrency` workers, each on its own connection, each sending its next request
 * as soon as the previous one is answered (or timed out). Measures throughput, not behaviour under
 * a given arrival rate: a slow server slows its own load down here. Without the generator's
 * warm-up: see runs.ts.
 */
export function startClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopReport> {
  return new ClosedLoopRun(options).run();
}

class ClosedLoopRun extends RunCore<ClosedLoopReport> {
  private readonly concurrency: number;
  private readonly warmupMs: number;
  private readonly durationMs: number;
  private readonly makeRequest: ClosedLoopOptions['makeRequest'];
  private measureFrom = 0;
  private measureTo = 0;
  private nextIndex = 0;
  private activeWorkers = 0;
  private finishing = false;
  private failure: unknown = undefined;

  constructor(options: ClosedLoopOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be an integer >= 1: ${options.concurrency}`);
    }
    if (!(options.durationMs > 0)) {
      throw new RangeError(`durationMs must be > 0: ${options.durationMs}`);
    }
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0: ${timeoutMs}`);
    super(new ConnectionSet(options.baseUrl, options.concurrency, timeoutMs), timeoutMs);
    this.concurrency = options.concurrency;
    this.warmupMs = Math.max(0, options.warmupMs ?? 0);
    this.durationMs = options.durationMs;
    this.makeRequest = options.makeRequest;
  }

  run(): Promise<ClosedLoopReport> {
    return this.begin(() => {
      const now = performance.now();
      this.measureFrom = now + this.warmupMs;
      this.measureTo = this.measureFrom + this.durationMs;
      this.startSweeping();
      this.activeWorkers = this.concurrency;
      for (let worker = 0; worker < this.concurrency; worker += 1) this.next(now);
    });
  }

  /** A worker's next request, or its retirement once the measured window is over. */
  private next(now: number): void {
    if (now >= this.measureTo || this.failure !== undefined) {
      this.activeWorkers -= 1;
      this.finishIfDone();
      return;
    }
    try {
      const index = this.nextIndex;
      this.nextIndex += 1;
      const spec = this.makeRequest(index);
      const counted = now >= this.measureFrom;
      this.send(new Exchange(this, index, spec, now, now + this.timeoutMs, false, counted));
    } catch (error) {
      this.failure = error;
      this.activeWorkers -= 1;
      this.finishIfDone();
    }
  }

  protected override settled(_exchange: Exchange, _outcome: Outcome, _now: number): void {
    // The worker goes on at once; the answer's timestamp is stale by the time undici calls back.
    this.next(performance.now());
  }

  private finishIfDone(): void {
    if (this.activeWorkers > 0 || this.outstanding > 0 || this.finishing) return;
    this.finishing = true;
    this.finish(
      () => this.failure,
      (generator) => {
        const report = this.tally.report('closed', this.durationMs, generator);
        const throughputPerSecond = report.served / (this.durationMs / 1000);
        return { ...report, throughputPerSecond };
      },
    );
  }
}
