import type { Clock } from '@coupons/campaign';
import { systemClock } from '@coupons/campaign';
import type { Logger, RecorderMetrics } from '@coupons/telemetry';
import type { Recorder } from './recorder';

export interface LoopOptions {
  recorder: Recorder;
  metrics: RecorderMetrics;
  logger: Logger;
  /** Wait after a round with nothing recorded, or with a fault (RECORDER_BLOCK_MS). */
  idleMs: number;
  /** Lag, age and rollback checks at most this often (RECORDER_SAMPLE_MS). */
  sampleMs: number;
  clock?: Clock;
}

/** After a round with a fault (a Redis restarting or failing over), the next round this soon. */
const FAULT_RETRY_MS = 200;

/**
 * Runs rounds until stopped. stop() lets the round in flight finish, so every batch is either
 * committed and acknowledged or not acknowledged at all; never half of it.
 */
export class RecorderLoop {
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private healthy = false;

  constructor(private readonly options: LoopOptions) {}

  /** Whether the last round and sample ran without a fault (for /readyz). */
  get ready(): boolean {
    return this.healthy && !this.stopping;
  }

  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.options.metrics.up.set(0);
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const { recorder, metrics, logger, idleMs, sampleMs } = this.options;
    const clock = this.options.clock ?? systemClock;
    metrics.up.set(1);
    let nextSample = 0;
    while (!this.stopping) {
      try {
        if (clock.now() >= nextSample) {
          await recorder.sample();
          nextSample = clock.now() + sampleMs;
        }
        const { recorded, faults } = await recorder.round();
        this.healthy = faults === 0;
        if (recorded > 0 && faults === 0) continue;
        if (faults > 0) {
          // Soon again: a fenced shard on a restarted or promoted Redis waits for this.
          await this.idle(Math.min(idleMs, FAULT_RETRY_MS));
          continue;
        }
      } catch (err) {
        this.healthy = false;
        logger.error({ err }, 'recorder: round failed');
      }
      await this.idle(idleMs);
    }
  }

  private idle(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
