import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import {
  AdmissionGate,
  ConcurrencyLimit,
  EventLoopGuard,
  RequestLimiter,
  SoldOutCache,
  TokenBucket,
} from '@coupons/admission';
import { toZonedIso, type Clock } from '@coupons/campaign';
import type { AdmissionReading } from '@coupons/telemetry';
import { shardKeys } from '@coupons/budget-ledger';
import type { CampaignCatalog } from '../campaignCatalog';
import type { AdmissionConfig } from '../config/env';
import { soldOutBody } from '../answers/refusals';
import { RetryPolicy } from '../answers/retryPolicy';
import type { RedisClient } from '../redis/client';
import type { RequestContext } from './frontDoor';
import { SHED_FOR_CAPACITY } from './overloadActions';

export interface AdmissionDeps {
  config: AdmissionConfig;
  redis: RedisClient;
  /** The service's (Redis-tracked) clock: a sold-out shard opens exactly at the ledger's release. */
  clock: Clock;
  /** The campaigns served: a sold-out shard's next release is written in its campaign's zone. */
  catalog: CampaignCatalog;
  random?: () => number;
}

/**
 * The service's admission control, assembled from @coupons/admission: the gate the front door
 * asks (frontDoor.ts), the sold-out cache the ledger's answers feed (`learn`, called by the front
 * door when an answer is done), and the reading the metrics scrape. Disabled (ADMISSION=off)
 * there is no gate.
 */
export class AdmissionControl {
  readonly gate: AdmissionGate | undefined;
  readonly soldOut: SoldOutCache;
  /** Every Retry-After the service gives (the gate's and the app's). */
  readonly retry: RetryPolicy;
  private readonly servedClaims: ServedClaims;
  private readonly eventLoop: EventLoopGuard | undefined;
  private readonly limiters: RequestLimiter[] = [];
  private readonly catalog: CampaignCatalog;

  constructor(deps: AdmissionDeps) {
    const { config } = deps;
    this.catalog = deps.catalog;
    const random = deps.random ?? Math.random;
    this.retry = new RetryPolicy(config.soldOut.retrySpreadSeconds, random);
    this.soldOut = new SoldOutCache({ probeIntervalMs: config.soldOut.probeIntervalMs });
    this.servedClaims = new ServedClaims(deps.redis, { maxMemoryBytes: 16 * 1024 * 1024 });
    if (!config.enabled) return;

    const eventLoop = new EventLoopGuard({
      claims: {
        delayP99Ms: config.eventLoop.delayP99Ms,
        utilization: config.eventLoop.utilization,
      },
    }).start();
    this.eventLoop = eventLoop;
    const userLimit =
      config.userLimit === undefined
        ? undefined
        : this.limiter(deps.redis, 'coupons:rl:user', config.userLimit, true);
    const keyLimit =
      config.keyLimit === undefined
        ? undefined
        : this.limiter(deps.redis, 'coupons:rl:key', config.keyLimit, false);
    const { clock } = deps;
    this.gate = new AdmissionGate({
      now: () => clock.now(),
      random,
      eventLoop: this.eventLoop,
      ...(config.tokenBucket === undefined
        ? {}
        : { tokenBucket: new TokenBucket(config.tokenBucket) }),
      concurrency: new ConcurrencyLimit(config.concurrency, () => eventLoop.saturated),
      deadline: { defaultMs: config.defaultTimeoutMs },
      ...(userLimit === undefined ? {} : { userLimit: { limiter: userLimit } }),
      ...(keyLimit === undefined ? {} : { keyLimit: { limiter: keyLimit } }),
      soldOut: {
        cache: this.soldOut,
        body: soldOutBody,
        served: (claim) =>
          claim.scopeHash !== undefined &&
          this.servedClaims.served({ ...claim, scopeHash: claim.scopeHash }),
      },
      retry: this.retry.gate,
    });
    const gate = this.gate;
    this.eventLoop.watchDemand(() => gate.bulkDemand());
  }

  /**
   * What a ledger answer to a claim teaches admission, in one place, read from the request's
   * context once the answer is done: a shard sold out until its next release, a shard open again
   * (budget moved in), a claim served (its replays must get the coupon even while its shard is
   * sold out).
   */
  learn(context: RequestContext): void {
    const { learned, claim } = context;
    if (learned === undefined || claim === undefined) return;
    const { result, campaignId, now } = learned;
    if (result.kind === 'tranche_exhausted') {
      const zone = this.catalog.get(campaignId)?.campaign.timeZone ?? 'UTC';
      const iso = toZonedIso(result.nextReleaseAt, zone);
      this.soldOut.markSoldOut(campaignId, claim.shard, result.nextReleaseAt, iso, now);
      return;
    }
    if (result.kind !== 'issued') return;
    if (claim.scopeHash !== undefined) this.servedClaims.remember(campaignId, claim.scopeHash);
    // Issued on a shard marked sold out (a probe): rebalancing moved budget in, so open it again.
    if (!result.replayed && this.soldOut.holds(campaignId))
      this.soldOut.clear(campaignId, claim.shard);
  }

  /** Requests received and shed for lack of capacity, cumulative: the overload actions' pressure. */
  pressure(): { received: number; shed: number } {
    if (this.gate === undefined) return { received: 0, shed: 0 };
    const { received, shed } = this.gate.snapshot();
    let shedTotal = 0;
    for (const reason of SHED_FOR_CAPACITY)
      for (const n of Object.values(shed[reason])) shedTotal += n;
    return { received: Object.values(received).reduce((a, b) => a + b, 0), shed: shedTotal };
  }

  /** Shutdown: every request from now on is answered 503 UNAVAILABLE with Connection: close. */
  startDraining(): void {
    this.gate?.startDraining();
  }

  stop(): void {
    this.eventLoop?.stop();
  }

  /** For the metrics scrape; zeros when admission is off. */
  reading(): AdmissionReading {
    const limiterInsuranceAnswers = this.limiters.reduce((n, l) => n + l.insuranceAnswers, 0);
    const limiterFaults = this.limiters.reduce((n, l) => n + l.faults, 0);
    if (this.gate === undefined) {
      return {
        received: {},
        shed: {},
        inflight: {},
        concurrencyLimit: 0,
        saturation: 0,
        eventLoopActiveSeconds: 0,
        eventLoopUtilization: 0,
        limitChecksPending: 0,
        limiterInsuranceAnswers,
        limiterFaults,
      };
    }
    return { ...this.gate.snapshot(), limiterInsuranceAnswers, limiterFaults };
  }

  private limiter(
    redis: RedisClient,
    keyPrefix: string,
    limit: { points: number; durationSeconds: number },
    /** Users: most of a crowd claims once, so a first claim per window skips Redis. */
    firstRequestLocal: boolean,
  ): RequestLimiter {
    const limiter = new RequestLimiter(redis, { ...limit, keyPrefix, firstRequestLocal });
    this.limiters.push(limiter);
    return limiter;
  }
}

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
