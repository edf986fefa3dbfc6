import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface RequestLimitOptions {
  /** Requests allowed per window, counting every request (replays included). */
  points: number;
  durationSeconds: number;
  /** Redis key prefix, e.g. `coupons:rl:user`; the key is `${keyPrefix}:${id}`, one key per id. */
  keyPrefix: string;
  /**
   * This pod's allowance per window while Redis cannot be reached (the insurance limiter). With
   * requests spread over N pods, points / N keeps the fleet near the real limit; default `points`.
   */
  insurancePoints?: number;
  /** Ids remembered as blocked in memory at most (default 100,000). */
  maxBlocked?: number;
  /**
   * An id's first request in a window on this pod is admitted without asking Redis (`freePass`)
   * and counted there with its next one (that `consume` takes 2 points): in a flash crowd most
   * users send one claim, and the Redis round trip would cost them ~10% of a claim's CPU for
   * nothing. The limit stays exact for an id that sends two or more through one pod; an id that
   * sends exactly one to each of N pods gets up to N requests uncounted per window. Ids
   * remembered per window at most: `maxFirstSeen` (default 200,000) and `maxFirstSeenBytes`
   * (default 32 MiB, counting each id's characters and its map entry): past either, every
   * request asks Redis. Off unless true.
   */
  firstRequestLocal?: boolean;
  maxFirstSeen?: number;
  maxFirstSeenBytes?: number;
}

export type LimitVerdict = { limited: false } | { limited: true; retryAfterMs: number };

const ALLOWED: LimitVerdict = Object.freeze({ limited: false });

/** The in-memory insurance limiter, counting how often it had to answer for Redis. */
class InsuranceLimiter extends RateLimiterMemory {
  answers = 0;

  override consume(key: string | number, points?: number, options?: Record<string, unknown>) {
    this.answers++;
    return super.consume(key, points, options);
  }
}

/**
 * A per-id request limit in Redis: rate-limiter-flexible's RateLimiterRedis (one Lua call on one
 * key, so it runs on Redis Cluster too) with an in-memory RateLimiterMemory as insurance, which
 * answers when Redis is not ready or fails, so a Redis hiccup limits ids per pod rather than
 * stopping every request. An id that reaches its limit is then refused from memory until its
 * window ends (`blockedMs`, synchronous), costing no Redis call and no promise.
 */
export class RequestLimiter {
  /** Faults neither Redis nor the insurance limiter answered (admitted: fails open). */
  faults = 0;
  private readonly insurance: InsuranceLimiter;
  private readonly limiter: RateLimiterRedis;
  private readonly blocked: BlockList;
  private readonly firstSeen: FirstSeen | undefined;

  /** @param storeClient an ioredis Redis or Cluster (any client RateLimiterRedis accepts). */
  constructor(
    storeClient: unknown,
    readonly options: RequestLimitOptions,
  ) {
    const { points, durationSeconds, keyPrefix } = options;
    this.blocked = new BlockList(options.maxBlocked ?? DEFAULT_MAX_BLOCKED);
    this.firstSeen =
      options.firstRequestLocal === true
        ? new FirstSeen(
            durationSeconds * 1000,
            options.maxFirstSeen ?? DEFAULT_MAX_FIRST_SEEN,
            options.maxFirstSeenBytes ?? DEFAULT_MAX_FIRST_SEEN_BYTES,
          )
        : undefined;
    this.insurance = new InsuranceLimiter({
      points: options.insurancePoints ?? points,
      duration: durationSeconds,
      keyPrefix: `${keyPrefix}:insurance`,
    });
    this.limiter = new RateLimiterRedis({
      storeClient,
      points,
      duration: durationSeconds,
      keyPrefix,
      insuranceLimiter: this.insurance,
      // A client that is not connected goes straight to the insurance limiter, without waiting.
      rejectIfRedisNotReady: true,
    });
  }

  /** Requests the insurance limiter answered because Redis could not (a counter for metrics). */
  get insuranceAnswers(): number {
    return this.insurance.answers;
  }

  /** Approximate bytes the first-request memory holds now (both generations). */
  get firstSeenBytes(): number {
    return this.firstSeen?.bytes ?? 0;
  }

  /** Ids blocked in memory now (a gauge). */
  get blockedIds(): number {
    return this.blocked.size;
  }

  /**
   * How long `id` is still refused without asking Redis; 0 when it is not blocked. `now` on the
   * same clock as `consume`'s (the gate's).
   */
  blockedMs(id: string, now: number): number {
    return this.blocked.blockedMs(id, now);
  }

  /**
   * Synchronous: true when this is `id`'s first request in the window on this pod (and
   * firstRequestLocal is on), so it is admitted without `consume`; the id is remembered.
   */
  freePass(id: string, now: number): boolean {
    return this.firstSeen?.firstTime(id, now) ?? false;
  }

  /**
   * Counts one request for `id`, made at `now` (epoch ms on the gate's clock). Never rejects: a
   * limit that cannot be checked admits.
   */
  consume(id: string, now: number): Promise<LimitVerdict> {
    const points = this.firstSeen?.settle(id) === true ? 2 : 1;
    return this.limiter.consume(id, points).then(
      (res) => {
        // The request that reaches the limit is served; the next ones are refused from memory.
        if (res.remainingPoints <= 0 && res.msBeforeNext > 0) {
          this.blocked.block(id, now + res.msBeforeNext, now);
        }
        return ALLOWED;
      },
      (reason: unknown): LimitVerdict => {
        if (reason instanceof RateLimiterRes) {
          const retryAfterMs = Math.max(0, reason.msBeforeNext);
          if (retryAfterMs > 0) this.blocked.block(id, now + retryAfterMs, now);
          return { limited: true, retryAfterMs };
        }
        this.faults++;
        return ALLOWED;
      },
    );
  }
}

export const DEFAULT_MAX_FIRST_SEEN = 200_000;
export const DEFAULT_MAX_FIRST_SEEN_BYTES = 32 * 1024 * 1024;
/** What a Map entry costs besides its key's characters (two bytes each), measured roughly. */
const ENTRY_OVERHEAD_BYTES = 80;
const entryBytes = (id: string) => id.length * 2 + ENTRY_OVERHEAD_BYTES;

/**
 * Ids seen in the current or the previous window (two generations, rotated every window), so an
 * id is "first" at most once per one to two windows; each remembers whether its free request is
 * still to be counted in Redis. Bounded: when the current generation is full, nobody is first
 * any more until it rotates.
 */
class FirstSeen {
  /** id -> its free request is not counted in Redis yet */
  private current = new Map<string, boolean>();
  private previous = new Map<string, boolean>();
  private currentBytes = 0;
  private previousBytes = 0;
  private rotateAt = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
    private readonly maxBytes: number,
  ) {}

  get bytes(): number {
    return this.currentBytes + this.previousBytes;
  }

  firstTime(id: string, now: number): boolean {
    if (now >= this.rotateAt) {
      // A clock that jumped a whole window ahead forgets both generations.
      const keep = now - this.rotateAt < this.windowMs;
      this.previous = keep ? this.current : new Map();
      this.previousBytes = keep ? this.currentBytes : 0;
      this.current = new Map();
      this.currentBytes = 0;
      this.rotateAt = now + this.windowMs;
    }
    if (this.current.has(id) || this.previous.has(id)) return false;
    const bytes = entryBytes(id);
    if (this.current.size >= this.max || this.currentBytes + bytes > this.maxBytes) return false;
    this.current.set(id, true);
    this.currentBytes += bytes;
    return true;
  }

  /** True once if `id` had a free request not yet counted (the caller counts it now). */
  settle(id: string): boolean {
    for (const generation of [this.current, this.previous]) {
      if (generation.get(id) === true) {
        generation.set(id, false);
        return true;
      }
    }
    return false;
  }
}

export const DEFAULT_MAX_BLOCKED = 100_000;

/**
 * Ids refused from memory until a moment (the end of their rate window). Not
 * rate-limiter-flexible's inMemoryBlockOnConsumed: its block list scans every entry on each new
 * block once it holds 1000 (measured in bench/cost.ts: 25 µs per block at 1,000 blocked ids,
 * 1.6 ms at 100,000), which a crowd of retrying users would turn into a CPU sink. Here a lookup
 * is one Map get, and adding sweeps a few expired entries from the front: insertion order is
 * close to expiry order because every block lasts at most one window. Bounded by `maxBlocked`.
 */
export class BlockList {
  private readonly untilById = new Map<string, number>();

  constructor(readonly maxBlocked = DEFAULT_MAX_BLOCKED) {}

  get size(): number {
    return this.untilById.size;
  }

  /** Milliseconds `id` stays blocked, 0 when it is not. */
  blockedMs(id: string, now: number): number {
    const until = this.untilById.get(id);
    if (until === undefined) return 0;
    if (now < until) return until - now;
    this.untilById.delete(id);
    return 0;
  }

  block(id: string, untilMs: number, now: number): void {
    this.sweep(now);
    this.untilById.delete(id);
    if (this.untilById.size >= this.maxBlocked) {
      const oldest = this.untilById.keys().next();
      if (oldest.done !== true) this.untilById.delete(oldest.value);
    }
    this.untilById.set(id, untilMs);
  }

  private sweep(now: number): void {
    let looked = 0;
    for (const [id, until] of this.untilById) {
      if (until > now || ++looked > 4) return;
      this.untilById.delete(id);
    }
  }
}
