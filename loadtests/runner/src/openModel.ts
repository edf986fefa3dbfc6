import { performance } from 'node:perf_hooks';
import { ArrivalSchedule } from './arrivalSchedule';
import { ConnectionSet } from './connections';
import { DueHeap } from './dueHeap';
import { Exchange } from './exchange';
import { RunCore, type Outcome } from './runCore';
import { LATE_SEND_MS } from './tally';
import type { LoadReport, OpenModelOptions, RequestSpec, Retry } from './types';

export const DEFAULT_TIMEOUT_MS = 2000;
export const DEFAULT_CONNECTIONS = 1000;
/** A timer callback sends for at most this long before letting answers in. */
const SEND_SLICE_MS = 4;

interface FollowUp {
  atMs: number;
  index: number;
  spec: RequestSpec;
}

/**
 * Open model (arrival rate): request i is sent at its scheduled time whatever the server does,
 * and its latency and deadline run from that time, so a slow server cannot slow the offered load
 * down (no coordinated omission). Without the generator's warm-up: see runs.ts.
 */
export function startOpenModel(options: OpenModelOptions): Promise<LoadReport> {
  return new OpenModelRun(options).run();
}

function scheduleOf(options: OpenModelOptions): ArrivalSchedule {
  if (options.stages !== undefined) {
    return new ArrivalSchedule(options.stages, options.startRate ?? 0);
  }
  if (options.ratePerSecond === undefined || options.durationMs === undefined) {
    throw new RangeError('runOpenModel needs stages, or ratePerSecond and durationMs');
  }
  return ArrivalSchedule.constant(options.ratePerSecond, options.durationMs);
}

class OpenModelRun extends RunCore<LoadReport> {
  private readonly schedule: ArrivalSchedule;
  private readonly followUps = new DueHeap<FollowUp>();
  private readonly makeRequest: OpenModelOptions['makeRequest'];
  private readonly onResponse: OpenModelOptions['onResponse'];
  private readonly signal: AbortSignal | undefined;
  private startedAt = 0;
  private endAt = 0;
  private lastSendAt = 0;
  private lastLagMs = 0;
  private schedulingOver = false;
  private stoppedEarlyAt: number | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeImmediate: NodeJS.Immediate | null = null;
  private wakeAt = Infinity;
  private finishing = false;
  private callbackError: unknown = undefined;

  constructor(options: OpenModelOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0: ${timeoutMs}`);
    const schedule = scheduleOf(options);
    super(
      new ConnectionSet(options.baseUrl, options.connections ?? DEFAULT_CONNECTIONS, timeoutMs),
      timeoutMs,
    );
    this.schedule = schedule;
    this.makeRequest = options.makeRequest;
    this.onResponse = options.onResponse;
    this.signal = options.signal;
  }

  run(): Promise<LoadReport> {
    return this.begin(() => {
      this.startedAt = performance.now();
      this.endAt = this.startedAt + this.schedule.durationMs;
      if (this.signal?.aborted) {
        this.stop(this.startedAt);
        return;
      }
      this.signal?.addEventListener('abort', this.onAbort, { once: true });
      this.startSweeping();
      this.tick();
    });
  }

  private readonly onAbort = (): void => {
    this.stop(performance.now());
  };

  /** Sends every request that is due, then sleeps until the next one. */
  private readonly tick = (): void => {
    this.wakeTimer = null;
    this.wakeImmediate = null;
    this.wakeAt = Infinity;
    if (this.schedulingOver) return;
    let now = performance.now();
    const sliceEnd = now + SEND_SLICE_MS;
    try {
      for (;;) {
        const fromSchedule = this.startedAt + this.schedule.nextAtMsOffset;
        const dueAt = Math.min(fromSchedule, this.followUps.nextAtMs);
        if (dueAt > now) {
          if (dueAt !== Infinity) this.wake(dueAt, now);
          else if (now < this.endAt) this.wake(this.endAt, now);
          else this.stop(now);
          return;
        }
        if (now >= sliceEnd) {
          this.wake(now, now);
          return;
        }
        this.sendDue(fromSchedule, now);
        now = performance.now();
      }
    } catch (error) {
      this.fail(error);
    }
  };

  private sendDue(fromSchedule: number, now: number): void {
    let index: number;
    let spec: RequestSpec;
    let dueAt: number;
    if (this.followUps.nextAtMs < fromSchedule) {
      const followUp = this.followUps.pop()!;
      index = followUp.index;
      spec = followUp.spec;
      dueAt = followUp.atMs;
      this.tally.followUps += 1;
    } else {
      index = this.schedule.nextIndex;
      dueAt = fromSchedule;
      this.schedule.advance();
      spec = this.makeRequest(index);
    }
    this.lastLagMs = now - dueAt;
    this.tally.recordLag(this.lastLagMs);
    this.lastSendAt = now;
    const exchange = new Exchange(
      this,
      index,
      spec,
      dueAt,
      dueAt + this.timeoutMs,
      this.onResponse !== undefined,
      true,
    );
    this.send(exchange);
  }

  protected override mayGrow(): boolean {
    return this.lastLagMs <= LATE_SEND_MS;
  }

  private wake(at: number, now: number): void {
    if (this.wakeAt <= at) return;
    this.clearWake();
    this.wakeAt = at;
    // A due request yields to answers for one turn; a later one waits on a (1 ms grained) timer.
    if (at <= now) this.wakeImmediate = setImmediate(this.tick);
    else this.wakeTimer = setTimeout(this.tick, at - now);
  }

  private clearWake(): void {
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    if (this.wakeImmediate !== null) clearImmediate(this.wakeImmediate);
    this.wakeTimer = null;
    this.wakeImmediate = null;
    this.wakeAt = Infinity;
  }

  private stop(now: number): void {
    if (this.schedulingOver) return;
    this.schedulingOver = true;
    if (now < this.endAt) this.stoppedEarlyAt = now;
    this.clearWake();
    this.finishIfDone();
  }

  protected override settled(exchange: Exchange, outcome: Outcome, now: number): void {
    const onResponse = this.onResponse;
    if (outcome === 'answer' && onResponse !== undefined && this.callbackError === undefined) {
      try {
        onResponse(
          exchange.index,
          exchange.status,
          exchange.headers ?? {},
          exchange.body(),
          this.retryOf(exchange),
          now - exchange.startedAt,
        );
      } catch (error) {
        // Thrown inside undici's callback it would be taken for a transport error; end the run.
        this.callbackError = error;
        this.stop(now);
      }
    }
    this.finishIfDone();
  }

  private retryOf(exchange: Exchange): Retry {
    return (delayMs: number): boolean => {
      const now = performance.now();
      const atMs = now + Math.max(0, delayMs);
      if (this.schedulingOver || atMs > this.endAt) return false;
      this.followUps.push({ atMs, index: exchange.index, spec: exchange.spec });
      this.wake(atMs, now);
      return true;
    };
  }

  private finishIfDone(): void {
    if (!this.schedulingOver || this.outstanding > 0 || this.finishing) return;
    this.finishing = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    // The schedule's length, or longer when the last send was late; shorter when stopped early.
    const durationMs =
      this.stoppedEarlyAt !== null
        ? this.stoppedEarlyAt - this.startedAt
        : Math.max(this.schedule.durationMs, this.lastSendAt - this.startedAt);
    this.finish(
      () => this.callbackError,
      (generator) => this.tally.report('open', durationMs, generator),
    );
  }

  private fail(error: unknown): void {
    if (this.callbackError === undefined) this.callbackError = error;
    this.stop(performance.now());
  }
}
