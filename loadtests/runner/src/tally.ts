import type { Histogram } from 'hdr-histogram-js';
import { newLatencyHistogram, recordMs, summarize } from './latency';
import type { LoadReport } from './types';

/** A send later than this counts as late for the saturation rule. */
export const LATE_SEND_MS = 10;
/** The generator set the pace when its p99 lag passes this... */
export const SATURATED_P99_LAG_MS = 50;
/** ...or when more than this share of sends was late. */
export const SATURATED_LATE_SHARE = 0.05;
/** Closed loop: a generator busier than this was the bottleneck, not the server. */
export const SATURATED_UTILIZATION = 0.85;

/** 429/503 with Retry-After is a shed answer; without it, just another status. */
export function isShedAnswer(status: number, hasRetryAfter: boolean): boolean {
  return hasRetryAfter && (status === 429 || status === 503);
}

export interface GeneratorFacts {
  /** event-loop utilisation during the run, 0..1 */
  utilization: number;
  /** CPU time of the whole process during the run (user + system) */
  cpuMs: number;
  connectionsOpened: number;
}

/** Outcome counters and histograms of one run. */
export class Tally {
  sent = 0;
  served = 0;
  shed = 0;
  errors = 0;
  timeouts = 0;
  followUps = 0;
  waitedForConnection = 0;
  private lateSends = 0;
  private readonly otherStatus = new Map<number, number>();
  private readonly servedLatency: Histogram = newLatencyHistogram();
  private readonly shedLatency: Histogram = newLatencyHistogram();
  private readonly lag: Histogram = newLatencyHistogram();

  recordLag(lagMs: number): void {
    recordMs(this.lag, lagMs);
    if (lagMs > LATE_SEND_MS) this.lateSends += 1;
  }

  /** An answer within the timeout. */
  recordAnswer(status: number, hasRetryAfter: boolean, latencyMs: number): void {
    if (status >= 200 && status < 300) {
      this.served += 1;
      recordMs(this.servedLatency, latencyMs);
    } else if (isShedAnswer(status, hasRetryAfter)) {
      this.shed += 1;
      recordMs(this.shedLatency, latencyMs);
    } else {
      this.otherStatus.set(status, (this.otherStatus.get(status) ?? 0) + 1);
    }
  }

  report(mode: LoadReport['mode'], durationMs: number, generator: GeneratorFacts): LoadReport {
    const {
      utilization: generatorUtilization,
      cpuMs: generatorCpuMs,
      connectionsOpened,
    } = generator;
    const seconds = durationMs / 1000;
    const schedulerLagMs = summarize(this.lag);
    const generatorSaturated =
      mode === 'open'
        ? schedulerLagMs.p99 > SATURATED_P99_LAG_MS ||
          (this.sent > 0 && this.lateSends / this.sent > SATURATED_LATE_SHARE)
        : generatorUtilization > SATURATED_UTILIZATION;
    const otherStatus: Record<string, number> = {};
    for (const [status, count] of [...this.otherStatus].sort((a, b) => a[0] - b[0])) {
      otherStatus[String(status)] = count;
    }
    return {
      mode,
      durationMs,
      offeredRate: seconds > 0 ? this.sent / seconds : 0,
      sent: this.sent,
      served: this.served,
      shed: this.shed,
      otherStatus,
      errors: this.errors,
      timeouts: this.timeouts,
      goodputPerSecond: seconds > 0 ? this.served / seconds : 0,
      servedLatencyMs: summarize(this.servedLatency),
      shedLatencyMs: summarize(this.shedLatency),
      schedulerLagMs,
      generatorSaturated,
      generatorUtilization,
      generatorCpuMs,
      followUps: this.followUps,
      waitedForConnection: this.waitedForConnection,
      connectionsOpened,
    };
  }
}
