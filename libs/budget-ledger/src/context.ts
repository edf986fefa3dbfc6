import { performance } from 'node:perf_hooks';
import { Cluster, type Redis } from 'ioredis';
import type { CampaignCalendar, Clock } from '@coupons/campaign';
import { shardKeys } from './keys';
import {
  type GUARD_ARGV,
  type NamedArgs,
  type LedgerScripts,
  codeOf,
  LedgerCode,
  LedgerFault,
  type ScriptReply,
} from './scripts';

// What every call of one campaign's ledger shares, and the guard's side of it in TypeScript
// (lua/includes/guard.lua): the marks of each shard, the Redis-time clock, the guard's arguments
// and the reading of its refusals, and the check that the Redis server's settings keep money.

/** Clock the ledger can correct when a script reports Redis time (see RedisTimeClock). */
export interface LedgerClock extends Clock {
  observe?(redisMs: number): void;
}

/**
 * What every part of one campaign's ledger shares: the client and its scripts, the calendar, the
 * clock, and this pod's marks of each shard (ShardMarks, below).
 */
export interface LedgerContext {
  readonly redis: Redis | Cluster;
  readonly scripts: LedgerScripts;
  readonly calendar: CampaignCalendar;
  readonly clock: LedgerClock;
  readonly fingerprint: string;
  readonly marks: ShardMarks;
  /** Tests only: the scripts take the caller's time as the time. */
  readonly trustCallerClock: boolean;
  readonly settings: RedisSettingsGuard | undefined;
}

/** The named fields of every shard's ledger hash, in shard order (one HMGET each, at once). */
export function readLedgers(
  ctx: LedgerContext,
  fields: readonly string[],
): Promise<(string | null)[][]> {
  const { campaign } = ctx.calendar;
  return Promise.all(
    Array.from({ length: campaign.shards }, (_, shard) =>
      ctx.redis.hmget(shardKeys(campaign.id, shard).ledger, ...fields),
    ),
  );
}

/** The guard's arguments (lua/includes/guard.lua) for a call on `shard` at the caller's `atMs`. */
export function guardArgs(
  ctx: LedgerContext,
  shard: number,
  atMs: number,
): NamedArgs<typeof GUARD_ARGV> {
  return {
    trustCallerTime: ctx.trustCallerClock,
    callerNowMs: atMs,
    fingerprint: ctx.fingerprint,
    ...ctx.marks.guard(shard),
  };
}

/**
 * The reply's status, after noting the shard's view in the marks and turning the guard's refusals
 * into faults: a script that refused for the guard never moved money.
 */
export function statusOf(ctx: LedgerContext, shard: number, reply: ScriptReply): LedgerCode {
  const status = codeOf(reply);
  const view: ShardView | undefined = viewOf(reply);
  if (view !== undefined) ctx.marks.observe(shard, view);
  const campaign = ctx.calendar.campaign.id;
  switch (status) {
    case LedgerCode.LedgerMissing:
      throw new LedgerFault(
        'ledger_missing',
        `campaign ${campaign} shard ${shard}: ledger missing (Redis restarted empty or flushed); claims and redemptions on it are refused until an operator restores Redis or runs npm run ledger:init -- --campaign ${campaign} --after-loss`,
      );
    case LedgerCode.ConfigMismatch:
      throw new LedgerFault(
        'config_mismatch',
        `campaign ${campaign} shard ${shard}: ledger was initialised for other money settings than this pod's campaigns file`,
      );
    case LedgerCode.RolledBack:
      throw new LedgerFault(
        'rolled_back',
        `campaign ${campaign} shard ${shard}: ledger rolled back (it holds less than a pod saw: Redis restarted from an older snapshot or failed over to a replica that was behind); claims and redemptions on it are refused. Restore the newer data if it exists; otherwise run npm run ledger:init -- --campaign ${campaign} --after-loss, which counts what the shard could still issue as issued`,
      );
    case LedgerCode.Unverified:
      throw new LedgerFault(
        'unverified',
        `campaign ${campaign} shard ${shard}: this Redis process (restarted, restored or failed over) has not been verified against the book of record yet; the recorder does so within a poll, or marks the shard rolled back`,
      );
    case LedgerCode.RedisClockBehind:
      throw new LedgerFault(
        'clock',
        `campaign ${campaign} shard ${shard}: Redis time ${view?.nowMs ?? '?'} is behind what this pod saw of it (a failover to a server whose clock is behind?)`,
      );
    default:
      return status;
  }
}

/**
 * The shard as a script saw it, at the front of every reply after the guard
 * (lua/includes/guard.lua): {code, gen, events, lastEventId, nowMs, ...}.
 */
export interface ShardView {
  /** The ledger's generation: Redis time when it was created (or last written off). */
  gen: number;
  /** Audit events the shard has appended in this generation and before it. */
  events: number;
  lastEventId: string;
  /** The script's clock (Redis TIME; the caller's time in tests that trust it). */
  nowMs: number;
}

export function viewOf(reply: ScriptReply): ShardView | undefined {
  if (reply.length < 5) return undefined;
  return {
    gen: Number(reply[1]),
    events: Number(reply[2]),
    lastEventId: String(reply[3]),
    nowMs: Number(reply[4]),
  };
}

/** What follows the view in a reply. */
export function afterView(reply: ScriptReply): ScriptReply {
  return reply.slice(5);
}

interface Mark {
  gen: number;
  events: number;
  lastEventId: string;
  /** The highest Redis time a reply from this shard carried. */
  redisMs: number;
}

/** The guard's marks of what a caller saw of a shard (lua/includes/guard.lua, ARGV[4..7]). */
export interface GuardMark {
  markGen: string | number;
  markEvents: number;
  markEventId: string;
  notBeforeMs: number;
}

/** The marks of a caller that has seen nothing of the shard: the guard checks no rollback. */
export const NO_MARK: GuardMark = Object.freeze({
  markGen: '',
  markEvents: 0,
  markEventId: '',
  notBeforeMs: 0,
});

/**
 * What this pod has seen of each shard: the newest (generation, event count, last event id) and
 * the highest Redis time. Every script is told them, and refuses a ledger that is behind them: a
 * Redis restarted from an older snapshot or failed over to a replica that was behind, or a
 * primary whose clock is behind (by more than `maxClockStepBackMs`). Both come back with the
 * scripts' replies, so keeping them costs nothing.
 */
export class ShardMarks {
  private readonly byShard = new Map<number, Mark>();

  constructor(private readonly maxClockStepBackMs: number) {}

  observe(shard: number, view: ShardView): void {
    const mark = this.byShard.get(shard);
    if (
      mark === undefined ||
      view.gen > mark.gen ||
      (view.gen === mark.gen && view.events > mark.events)
    ) {
      this.byShard.set(shard, {
        gen: view.gen,
        events: view.events,
        lastEventId: view.lastEventId,
        redisMs: Math.max(mark?.redisMs ?? 0, view.nowMs),
      });
    } else if (view.nowMs > mark.redisMs) {
      mark.redisMs = view.nowMs;
    }
  }

  /** The guard's arguments for `shard` (NO_MARK when this pod has not seen it yet). */
  guard(shard: number): GuardMark {
    const mark = this.byShard.get(shard);
    if (mark === undefined) return NO_MARK;
    return {
      markGen: mark.gen,
      markEvents: mark.events,
      markEventId: mark.lastEventId,
      notBeforeMs: mark.redisMs - this.maxClockStepBackMs,
    };
  }

  /**
   * For a ledger read outside the scripts: take this before sending the read, then ask whether
   * what it found is behind. A mark learnt after the read was sent may come from a script that
   * ran after it, so it is not held against that read.
   */
  asOfNow(): (shard: number, gen: number, events: number) => boolean {
    const seen = new Map([...this.byShard].map(([shard, mark]) => [shard, { ...mark }]));
    return (shard, gen, events) => {
      const mark = seen.get(shard);
      if (mark === undefined) return false;
      return gen < mark.gen || (gen === mark.gen && events < mark.events);
    };
  }
}

/** Redis TIME in epoch ms. */
export async function redisTimeMs(redis: Redis | Cluster): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * A clock that follows Redis TIME, not the pod's wall clock: a pod whose clock runs 30 s (or a
 * day) fast must not open a release early. It measures elapsed time with the monotonic clock
 * from the last TIME reading, taken as the reply arrives, so it trails Redis by at most half a
 * round trip; the ledger scripts refuse a time ahead of Redis anyway.
 */
export class RedisTimeClock implements Clock {
  private baseRedisMs: number | undefined;
  private baseMonotonicMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly monotonicMs: () => number = () => performance.now(),
    private readonly fallback: Clock = { now: () => Date.now() },
  ) {}

  get synced(): boolean {
    return this.baseRedisMs !== undefined;
  }

  /** Before the first reading (Redis unreachable since start) this is the fallback's time. */
  now(): number {
    if (this.baseRedisMs === undefined) return this.fallback.now();
    return Math.floor(this.baseRedisMs + (this.monotonicMs() - this.baseMonotonicMs));
  }

  /** A Redis time seen elsewhere (a script's reply): adopt it if the clock ran ahead of it. */
  observe(redisMs: number): void {
    if (this.baseRedisMs === undefined || this.now() > redisMs) {
      this.baseRedisMs = redisMs;
      this.baseMonotonicMs = this.monotonicMs();
    }
  }

  async sync(): Promise<void> {
    this.baseRedisMs = await redisTimeMs(this.redis);
    this.baseMonotonicMs = this.monotonicMs();
  }

  /** Re-reads TIME every `everyMs`; a failed reading keeps the last one (Redis may be down). */
  start(everyMs = 1000, onError: (err: unknown) => void = () => undefined): void {
    this.stop();
    this.timer = setInterval(() => this.sync().catch(onError), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * enforce: money does not move on a Redis whose settings could lose it (the default).
 * warn: the problems are reported, money moves anyway.
 * skip: CONFIG is not read at all (a managed Redis without CONFIG whose settings the provider
 * confirms).
 */
export type RedisSettingsMode = 'enforce' | 'warn' | 'skip';

export interface RedisNodeSettings {
  node: string;
  maxmemoryPolicy: string;
  maxmemory: string;
  appendonly: string;
  appendfsync: string;
  save: string;
  minReplicasToWrite: string;
}

export interface RedisSettingsReport {
  nodes: RedisNodeSettings[];
  problems: string[];
}

export interface RedisSettingsOptions {
  mode: RedisSettingsMode;
  /** Production: a Redis without the append-only file loses what it acknowledged on a restart. */
  requirePersistence: boolean;
  /**
   * With acknowledged writes waiting for replicas (REDIS_WAIT_REPLICAS), a master should refuse
   * writes outright when it has fewer replicas (min-replicas-to-write) rather than let every claim
   * wait out its timeout first. Unchecked when absent.
   */
  minReplicasToWrite?: number;
}

const SETTINGS = [
  'maxmemory-policy',
  'maxmemory',
  'appendonly',
  'appendfsync',
  'save',
  'min-replicas-to-write',
] as const;

async function readNode(node: Redis): Promise<RedisNodeSettings> {
  const values = new Map<string, string>();
  // One parameter per CONFIG GET: older servers take only one.
  for (const name of SETTINGS) {
    const reply = (await node.config('GET', name)) as string[];
    values.set(name, reply[1] ?? '');
  }
  return {
    node: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`,
    maxmemoryPolicy: values.get('maxmemory-policy') ?? '',
    maxmemory: values.get('maxmemory') ?? '',
    appendonly: values.get('appendonly') ?? '',
    appendfsync: values.get('appendfsync') ?? '',
    save: values.get('save') ?? '',
    minReplicasToWrite: values.get('min-replicas-to-write') ?? '',
  };
}

/**
 * Checks the settings of every Redis node the ledger may run on (replicas too: they become
 * primaries). The user, idempotency and coupon keys carry TTLs, so any eviction policy but
 * noeviction can drop them while the ledger stays, and limits and idempotency would vanish
 * without anything failing closed; with `requirePersistence`, AOF must be on.
 */
export class RedisSettingsGuard {
  private last: RedisSettingsReport | undefined;

  constructor(
    private readonly redis: Redis | Cluster,
    readonly options: RedisSettingsOptions,
  ) {}

  get report(): RedisSettingsReport | undefined {
    return this.last;
  }

  /** Whether money may move now (always, unless the mode is enforce). */
  get safe(): boolean {
    if (this.options.mode !== 'enforce') return true;
    return this.last !== undefined && this.last.problems.length === 0;
  }

  /** The read in flight, if any: concurrent callers share it. */
  private reading: Promise<RedisSettingsReport> | undefined;

  /**
   * Resolves once the settings have been read (now, when nothing has read them yet and Redis is
   * connected); never rejects: a failed read leaves them unread, and assertSafe says so.
   */
  async whenRead(): Promise<void> {
    if (this.last !== undefined || this.redis.status !== 'ready') return;
    await (this.reading ?? this.check()).catch(() => undefined);
  }

  async check(): Promise<RedisSettingsReport> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<RedisSettingsReport> {
    if (this.options.mode === 'skip') {
      this.last = { nodes: [], problems: [] };
      return this.last;
    }
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('all') : [this.redis];
    const report: RedisSettingsReport = { nodes: [], problems: [] };
    for (const node of nodes) {
      const name = `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
      let settings: RedisNodeSettings;
      try {
        settings = await readNode(node);
      } catch (err) {
        report.problems.push(
          `${name}: CONFIG GET failed (${(err as Error).message}); on a managed Redis without CONFIG, confirm maxmemory-policy noeviction and AOF with the provider, then set REDIS_SETTINGS_CHECK=skip`,
        );
        continue;
      }
      report.nodes.push(settings);
      if (settings.maxmemoryPolicy !== 'noeviction')
        report.problems.push(
          `${name}: maxmemory-policy is ${settings.maxmemoryPolicy}: Redis may evict user limits, idempotency keys and coupons (they carry TTLs); set maxmemory-policy noeviction`,
        );
      if (this.options.requirePersistence && settings.appendonly !== 'yes')
        report.problems.push(
          `${name}: appendonly is ${settings.appendonly}: a restart loses every coupon since the last snapshot; set appendonly yes (appendfsync everysec)`,
        );
      const wanted = this.options.minReplicasToWrite;
      if (wanted !== undefined && !(Number(settings.minReplicasToWrite) >= wanted))
        report.problems.push(
          `${name}: min-replicas-to-write is ${settings.minReplicasToWrite}: claims wait for ${wanted} replica(s) (REDIS_WAIT_REPLICAS); set min-replicas-to-write ${wanted} so a master without them refuses at once`,
        );
    }
    this.last = report;
    return report;
  }

  /**
   * Throws the fault that refuses money while the settings are unsafe, or not read yet on a
   * connected Redis (unreachable, the call fails as unreachable anyway, and says so).
   */
  assertSafe(): void {
    if (this.safe) return;
    if (this.last === undefined && this.redis.status !== 'ready') return;
    const problems = this.last === undefined ? ['Redis settings not read yet'] : this.last.problems;
    throw new LedgerFault('redis_settings', `unsafe Redis settings: ${problems.join('; ')}`);
  }
}
