import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { LedgerFault } from './scripts';

/** REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS: how many replicas must hold a write, how soon. */
export interface ReplicationOptions {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * The write was done on the master but fewer replicas than asked acknowledged it in time: a
 * failover now could lose it. A fault (503 with Retry-After), never a 2xx: the caller's retry with
 * the same Idempotency-Key (or orderId) replays the write if it survived, or does it again if not.
 */
export class ReplicationShortError extends LedgerFault {
  constructor(
    readonly acknowledged: number,
    readonly wanted: number,
    timeoutMs: number,
  ) {
    super(
      'replication',
      `only ${acknowledged} of ${wanted} replicas acknowledged the write within ${timeoutMs} ms`,
    );
    this.name = 'ReplicationShortError';
  }
}

/**
 * Acknowledged means replicated: after a money write, WAIT on the connection that carried it (on a
 * cluster, the master of the key's slot: WAIT counts that connection's writes) until
 * `replicas` replicas hold it, or throw ReplicationShortError after `timeoutMs`.
 *
 * WAIT blocks the connection it is sent on, and every claim shares one connection per node, so
 * one WAIT per write would queue every command behind every WAIT. Confirmations asked for in
 * the same turn of the event loop share one WAIT instead: each asks after its write's reply, so
 * the WAIT (sent later on the same connection) covers all of their writes.
 */
export class ReplicationWait {
  /** Per node, the WAIT not yet sent that the next confirmations join. */
  private readonly gathering = new Map<Redis, Promise<number>>();
  private sent = 0;

  constructor(
    private readonly redis: Redis | Cluster,
    readonly options: ReplicationOptions,
  ) {
    if (!Number.isInteger(options.replicas) || options.replicas < 1)
      throw new RangeError(`replicas must be a positive integer: ${options.replicas}`);
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1)
      throw new RangeError(`timeoutMs must be a positive integer: ${options.timeoutMs}`);
  }

  /** Resolves once the write just made to `key`'s node is on enough replicas. */
  async confirm(key: string): Promise<void> {
    const { replicas, timeoutMs } = this.options;
    const acknowledged = await this.waitOn(this.nodeFor(key));
    if (acknowledged < replicas) throw new ReplicationShortError(acknowledged, replicas, timeoutMs);
  }

  private waitOn(node: Redis): Promise<number> {
    const joined = this.gathering.get(node);
    if (joined !== undefined) return joined;
    const { replicas, timeoutMs } = this.options;
    const batch = new Promise<number>((resolve, reject) => {
      setImmediate(() => {
        this.gathering.delete(node);
        this.sent += 1;
        node.wait(replicas, timeoutMs).then(resolve, reject);
      });
    });
    this.gathering.set(node, batch);
    return batch;
  }

  /** How many WAIT commands were sent (confirmations gathered into one count once). */
  get waitsSent(): number {
    return this.sent;
  }

  /** The connection that carried writes to `key`: on a cluster, its slot's master's. */
  nodeFor(key: string): Redis {
    if (!(this.redis instanceof Cluster)) return this.redis;
    const owner = this.redis.slots[calculateSlot(key)]?.[0];
    const node = this.redis
      .nodes('master')
      .find((n) => `${n.options.host}:${n.options.port}` === owner);
    // Slots not known (yet, or after a failover): no node to ask is no acknowledgement.
    if (node === undefined) throw new ReplicationShortError(0, this.options.replicas, 0);
    return node;
  }
}
