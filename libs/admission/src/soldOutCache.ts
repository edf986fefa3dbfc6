export interface SoldOutEntry {
  /** Epoch ms of the shard's next release: sold out strictly before it. */
  readonly untilMs: number;
  /** The same moment as the contract writes it (ISO-8601 in the campaign's zone), for the answer. */
  readonly nextReleaseAt: string;
  /** When one claim may next go through to Redis to look for budget moved in (rebalancing). */
  probeAtMs: number;
}

export interface SoldOutCacheOptions {
  /** Campaigns remembered; the oldest marked is forgotten first. */
  maxCampaigns: number;
  /** Shards per campaign; a shard number outside 0..maxShards-1 is never cached. */
  maxShards: number;
  /**
   * Every this many ms one claim on a sold-out shard goes through to Redis (Infinity: never).
   * Rebalancing may move budget into a shard before its next release, on any pod; the probe
   * finds it, and the service clears the entry when that claim is issued.
   */
  probeIntervalMs: number;
}

export const DEFAULT_SOLD_OUT_CACHE: SoldOutCacheOptions = Object.freeze({
  maxCampaigns: 64,
  maxShards: 1024,
  probeIntervalMs: 1000,
});

/**
 * Shards known to have no released budget until their next release, so further claims on them
 * answer TRANCHE_EXHAUSTED without Redis. The service marks a shard when the ledger answers
 * tranche_exhausted. Bounded: maxCampaigns x maxShards entries at most.
 */
export class SoldOutCache {
  readonly options: SoldOutCacheOptions;
  private readonly campaigns = new Map<string, (SoldOutEntry | undefined)[]>();

  constructor(options: Partial<SoldOutCacheOptions> = {}) {
    this.options = { ...DEFAULT_SOLD_OUT_CACHE, ...options };
  }

  /** `now`: when the ledger answered; the first probe is one interval later. */
  markSoldOut(
    campaignId: string,
    shard: number,
    untilMs: number,
    nextReleaseAt: string,
    now: number,
  ): void {
    if (!this.validShard(shard) || !Number.isFinite(untilMs)) return;
    let shards = this.campaigns.get(campaignId);
    if (shards === undefined) {
      if (this.campaigns.size >= this.options.maxCampaigns) {
        const oldest = this.campaigns.keys().next();
        if (oldest.done !== true) this.campaigns.delete(oldest.value);
      }
      shards = [];
      this.campaigns.set(campaignId, shards);
    }
    shards[shard] = { untilMs, nextReleaseAt, probeAtMs: now + this.options.probeIntervalMs };
  }

  /** Whether any shard of the campaign was marked (and not forgotten) since start. */
  holds(campaignId: string): boolean {
    return this.campaigns.has(campaignId);
  }

  /** A claim on the shard was issued: budget is there again (moved in by rebalancing). */
  clear(campaignId: string, shard: number): void {
    const shards = this.campaigns.get(campaignId);
    if (shards !== undefined && this.validShard(shard)) shards[shard] = undefined;
  }

  /**
   * The entry while `now < untilMs`; from `untilMs` on, nothing (and the entry is dropped).
   * Once per probe interval it also answers nothing, so that one claim asks Redis.
   */
  lookup(campaignId: string, shard: number, now: number): SoldOutEntry | undefined {
    const shards = this.campaigns.get(campaignId);
    if (shards === undefined || !this.validShard(shard)) return undefined;
    const entry = shards[shard];
    if (entry === undefined) return undefined;
    if (now >= entry.untilMs) {
      shards[shard] = undefined;
      return undefined;
    }
    if (now >= entry.probeAtMs) {
      entry.probeAtMs = now + this.options.probeIntervalMs;
      return undefined;
    }
    return entry;
  }

  isSoldOut(campaignId: string, shard: number, now: number): boolean {
    return this.lookup(campaignId, shard, now) !== undefined;
  }

  /** Forget a campaign (its config changed, an operator re-initialised its ledger). */
  forget(campaignId: string): void {
    this.campaigns.delete(campaignId);
  }

  private validShard(shard: number): boolean {
    return Number.isInteger(shard) && shard >= 0 && shard < this.options.maxShards;
  }
}
