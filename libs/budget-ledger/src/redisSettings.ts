import { Cluster, type Redis } from 'ioredis';
import { LedgerFault } from './scripts';

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
