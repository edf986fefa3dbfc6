import type { Clock, Random } from './clock';

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
}

export const DEFAULT_SOLD_OUT_MEMORY: SoldOutMemoryOptions = Object.freeze({
  spreadMs: 60_000,
  finalMs: 60_000,
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
 * sold-out crowd costs the service nothing. A fresh coupon for the campaign (budget came back)
 * forgets the entry. The caller must not ask it for a claim that may already have been served
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
        untilMs = timed(reason.nextReleaseAt, now) + this.spread();
        break;
      case 'not_started':
        untilMs = timed(reason.startsAt, now) + this.spread();
        break;
      case 'ended':
      case 'budget_exhausted':
        untilMs = now + this.options.finalMs;
        break;
    }
    const entry = { reason, untilMs };
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

  private spread(): number {
    return Math.floor(this.random() * this.options.spreadMs);
  }
}

/** A moment the service named; one that cannot be read is treated as now (no memory). */
function timed(iso: string, now: number): number {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? now : at;
}
