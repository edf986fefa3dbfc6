import type { Clock } from '@coupons/contract';
import type { Random } from './clock';
import type { ClaimResult } from './outcomes';
import { DEFAULT_HORIZON_MS, momentMs } from './trust';

/** Why a campaign gives no coupons for now, as the service said it. */
export type ClosedReason =
  | { kind: 'sold_out'; nextReleaseAt: string }
  | { kind: 'not_started'; startsAt: string }
  | { kind: 'ended' }
  | { kind: 'budget_exhausted' };

export interface SoldOutMemoryOptions {
  /**
   * A timed entry (sold out until the next release, not started until the start) lasts until
   * that moment plus a uniform draw from [0, spreadMs), drawn by each client for itself: a
   * thousand chat-backend instances do not all come back in the same second.
   */
  spreadMs: number;
  /** How long a final answer (ended, budget gone) is remembered, in case the campaign changes. */
  finalMs: number;
  /**
   * No entry lasts longer than this, whatever moment the service named: one wrong answer must not
   * silence a campaign for longer.
   */
  horizonMs: number;
}

export const DEFAULT_SOLD_OUT_MEMORY: SoldOutMemoryOptions = Object.freeze({
  spreadMs: 60_000,
  finalMs: 60_000,
  horizonMs: DEFAULT_HORIZON_MS,
});

export interface ClosedEntry {
  reason: ClosedReason;
  /** Epoch ms until which claims of the campaign are answered here. */
  untilMs: number;
}

/**
 * Campaigns known to give no coupons for now. Once the service says TRANCHE_EXHAUSTED with
 * nextReleaseAt (or CAMPAIGN_NOT_STARTED, CAMPAIGN_ENDED, CAMPAIGN_BUDGET_EXHAUSTED), the
 * campaign's claims are answered from here until that moment (plus this client's spread), so a
 * sold-out crowd costs the service nothing. An entry lasts at most `horizonMs`, and any coupon the
 * service gives for the campaign (it is answering claims again) forgets it. The caller must not ask it for a claim that may already have been served
 * (UncertainClaims): the service would answer that one with its coupon.
 */
export class SoldOutMemory {
  private readonly entries = new Map<string, ClosedEntry>();

  constructor(
    readonly options: SoldOutMemoryOptions,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  learn(campaignId: string, reason: ClosedReason): ClosedEntry {
    const now = this.clock.now();
    let untilMs: number;
    switch (reason.kind) {
      case 'sold_out':
        untilMs = this.timed(reason.nextReleaseAt, now);
        break;
      case 'not_started':
        untilMs = this.timed(reason.startsAt, now);
        break;
      case 'ended':
      case 'budget_exhausted':
        untilMs = now + this.options.finalMs;
        break;
    }
    const entry = { reason, untilMs: Math.min(untilMs, now + this.options.horizonMs) };
    this.entries.set(campaignId, entry);
    return entry;
  }

  /** The entry that answers a claim of the campaign now, if any. */
  lookup(campaignId: string): ClosedEntry | undefined {
    const entry = this.entries.get(campaignId);
    if (entry === undefined) return undefined;
    if (this.clock.now() >= entry.untilMs) {
      this.entries.delete(campaignId);
      return undefined;
    }
    return entry;
  }

  /** The claim outcome this memory gives for the campaign now, if it has one. */
  claimAnswer(campaignId: string): ClaimResult | undefined {
    const entry = this.lookup(campaignId);
    if (entry === undefined) return undefined;
    const retryAfterSeconds = Math.max(1, Math.ceil((entry.untilMs - this.clock.now()) / 1000));
    const reason = entry.reason;
    switch (reason.kind) {
      case 'sold_out':
        return { ...reason, retryAfterSeconds, local: true };
      case 'not_started':
        return { ...reason, retryAfterSeconds, local: true };
      case 'ended':
      case 'budget_exhausted':
        return { kind: reason.kind, local: true };
    }
  }

  forget(campaignId: string): void {
    this.entries.delete(campaignId);
  }

  /** Campaigns remembered now, for metrics and tests. */
  snapshot(): Record<string, ClosedEntry> {
    const out: Record<string, ClosedEntry> = {};
    for (const id of [...this.entries.keys()]) {
      const entry = this.lookup(id);
      if (entry !== undefined) out[id] = entry;
    }
    return out;
  }

  /** A moment the service named plus this client's spread; now (no memory) if not believable. */
  private timed(iso: string, now: number): number {
    const at = momentMs(iso, now);
    return at === undefined ? now : at + this.spread();
  }

  private spread(): number {
    return Math.floor(this.random() * this.options.spreadMs);
  }
}
