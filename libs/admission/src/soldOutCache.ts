export interface SoldOutEntry {
  /** Epoch ms of the shard's next release: sold out strictly before it. */
  untilMs: number;
  /** The same moment as the contract writes it (ISO-8601 in the campaign's zone), for the answer. */
  nextReleaseAt: string;
}

export interface SoldOutCacheOptions {
  /** Campaigns remembered; the oldest marked is forgotten first. */
  maxCampaigns: number;
  /** Shards per campaign; a shard number outside 0..maxShards-1 is never cached. */
  maxShards: number;
}

export const DEFAULT_SOLD_OUT_CACHE: SoldOutCacheOptions = Object.freeze({
  maxCampaigns: 64,
  maxShards: 1024,
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

  markSoldOut(campaignId: string, shard: number, untilMs: number, nextReleaseAt: string): void {
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
    shards[shard] = { untilMs, nextReleaseAt };
  }

  /** The entry while `now < untilMs`; from `untilMs` on, nothing (and the entry is dropped). */
  lookup(campaignId: string, shard: number, now: number): SoldOutEntry | undefined {
    const shards = this.campaigns.get(campaignId);
    if (shards === undefined || !this.validShard(shard)) return undefined;
    const entry = shards[shard];
    if (entry === undefined) return undefined;
    if (now < entry.untilMs) return entry;
    shards[shard] = undefined;
    return undefined;
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
