import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import { shardKeys } from '@coupons/budget-ledger';
import type { RedisClient } from '../redis/client';

export interface ServedClaimsOptions {
  /** Idempotency scopes this pod remembers serving (bytes of their hashes, about 43 each). */
  maxMemoryBytes: number;
}

interface Lookup {
  campaignId: string;
  shard: number;
  scopeHash: string;
}

/**
 * Which claims were served, for the sold-out fast path: a claim on a sold-out shard is answered
 * "sold out" from memory only when it is not the replay of a claim that got a coupon. Scopes this
 * pod served are remembered (bounded); any other claim on a sold-out shard costs one lookup of
 * its idempotency key, batched per shard and event-loop turn into one MGET (the keys of a shard
 * share a slot), never the issue script.
 */
export class ServedClaims {
  private readonly memory: LRUCache<string, true>;
  private readonly loaders = new Map<string, DataLoader<string, boolean>>();

  constructor(
    private readonly redis: RedisClient,
    options: ServedClaimsOptions,
  ) {
    this.memory = new LRUCache<string, true>({
      maxSize: options.maxMemoryBytes,
      sizeCalculation: (_value, key) => key.length + 48,
    });
  }

  /** A claim was answered with a coupon (issued or replayed). */
  remember(campaignId: string, scopeHash: string): void {
    this.memory.set(`${campaignId}\u0000${scopeHash}`, true);
  }

  /** True when the scope was served here or its idempotency key exists in Redis. */
  served(lookup: Lookup): boolean | Promise<boolean> {
    if (this.memory.has(`${lookup.campaignId}\u0000${lookup.scopeHash}`)) return true;
    return this.loaderFor(lookup.campaignId, lookup.shard).load(lookup.scopeHash);
  }

  private loaderFor(campaignId: string, shard: number): DataLoader<string, boolean> {
    const id = `${campaignId}\u0000${shard}`;
    let loader = this.loaders.get(id);
    if (loader === undefined) {
      const keys = shardKeys(campaignId, shard);
      loader = new DataLoader<string, boolean>(
        async (scopes) => {
          const values = await this.redis.mget(...scopes.map((scope) => keys.idempotency(scope)));
          return values.map((value) => value !== null);
        },
        { cache: false, maxBatchSize: 256 },
      );
      this.loaders.set(id, loader);
    }
    return loader;
  }
}
