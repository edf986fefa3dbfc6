import type { Cluster, Redis } from 'ioredis';
import {
  checkRecorded,
  compareStreamIds,
  shardKeys,
  streamIdMs,
  trimRecorded,
} from '@coupons/budget-ledger';
import { systemClock, type Clock } from '@coupons/campaign';
import type { Logger, RecorderMetrics } from '@coupons/telemetry';
import { RecordFault } from '@coupons/ledger-record';
import { RecorderFault, type RecorderStep } from './faults';
import type { EventRecord, RecordedShardPosition, StreamEvent } from './record';
import { unrecordedEntries } from './lag';
import { logHealthChange, markedAtMs, type ShardHealth } from './shardHealth';
import { readGroup, toStreamEvent, type RawEntry, type ShardRef } from './streams';

/** The one consumer group every recorder joins: each entry is delivered to one of them. */
export const RECORDER_GROUP = 'recorder';

export interface RecorderOptions {
  redis: Redis | Cluster;
  record: EventRecord;
  shards: readonly ShardRef[];
  /** This process in the group (RECORDER_CONSUMER_NAME): unique per process. */
  consumer: string;
  batchSize: number;
  claimIdleMs: number;
  metrics: RecorderMetrics;
  logger: Logger;
  clock?: Clock;
  group?: string;
  /**
   * Tests only: runs after a batch is committed and before it is acknowledged, where a crash
   * leaves recorded entries pending (the test kills the process here).
   */
  afterCommit?: (events: readonly StreamEvent[]) => Promise<void> | void;
}

/** What one shard's turn did: entries recorded (0: nothing to do), or the fault. */
export type ShardOutcome = { recorded: number } | { fault: RecorderFault };

const key = (ref: ShardRef) => `${ref.campaignId}:${ref.shard}`;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Copies the audit streams to the record, one batch per shard per round:
 *
 * 1. its own pending entries first (a batch whose commit failed is retried, in order);
 * 2. then entries another consumer left pending longer than claimIdleMs (XAUTOCLAIM: it crashed);
 * 3. then new entries (XREADGROUP >).
 *
 * A batch is one transaction in the record, acknowledged (XACK) only after the commit, then the
 * stream is trimmed to what is recorded and acknowledged (trimRecorded-2.lua). A crash between
 * commit and XACK leaves the entries pending: they are delivered again and the record's unique
 * key makes the second commit a no-op, so every entry is recorded exactly once.
 */
export class Recorder {
  private readonly group: string;
  private readonly clock: Clock;
  private readonly grouped = new Set<string>();
  private readonly ownPending = new Set<string>();
  private readonly claimCursor = new Map<string, string>();
  private readonly failing = new Map<string, RecorderStep>();
  private readonly health = new Map<string, ShardHealth>();
  private readonly markedInRecord = new Set<string>();
  /** Per shard: the Redis run id this recorder verified against the record (checkShard). */
  private readonly verifiedRun = new Map<string, string>();
  /** Per shard: the highest sequence number this recorder knows the record holds. */
  private readonly knownEvents = new Map<string, number>();
  private readonly blocked = new Set<string>();

  constructor(private readonly options: RecorderOptions) {
    this.group = options.group ?? RECORDER_GROUP;
    this.clock = options.clock ?? systemClock;
    // After a restart our own pending entries (if any) come first.
    for (const ref of options.shards) this.ownPending.add(key(ref));
  }

  get shards(): readonly ShardRef[] {
    return this.options.shards;
  }

  /** One batch on every shard, concurrently. Faults are logged and counted, never thrown. */
  async round(): Promise<{ recorded: number; faults: number }> {
    const outcomes = await Promise.all(this.options.shards.map((ref) => this.recordShard(ref)));
    let recorded = 0;
    let faults = 0;
    for (const outcome of outcomes) {
      if ('fault' in outcome) faults += 1;
      else recorded += outcome.recorded;
    }
    return { recorded, faults };
  }

  /** One batch of one shard: read, record (one transaction), acknowledge, trim. */
  async recordShard(ref: ShardRef): Promise<ShardOutcome> {
    try {
      const recorded = await this.recordBatch(ref);
      this.recovered(ref);
      return { recorded };
    } catch (err) {
      const fault =
        err instanceof RecorderFault
          ? err
          : new RecorderFault('read', ref.campaignId, ref.shard, err);
      this.failed(ref, fault);
      return { fault };
    }
  }

  private async recordBatch(ref: ShardRef): Promise<number> {
    const { redis, record, metrics } = this.options;
    const audit = shardKeys(ref.campaignId, ref.shard).audit;
    // Nothing is recorded from a Redis process the record has not verified (see checkShard).
    const health = await this.checkShard(ref);
    if (health !== 'consistent' && health !== 'unrecorded') return 0;
    if (!(await this.ensureGroup(ref))) return 0;
    let entries: RawEntry[];
    try {
      entries = await this.step('read', ref, () => this.nextBatch(ref));
    } catch (err) {
      // The group went with the stream (Redis restarted empty, or flushed): look again once.
      if (!this.grouped.has(key(ref)) && errorText(err).includes('NOGROUP')) {
        if (!(await this.ensureGroup(ref))) return 0;
        entries = await this.step('read', ref, () => this.nextBatch(ref));
      } else {
        throw err;
      }
    }
    if (entries.length === 0) return 0;
    const events = entries.map((entry) => toStreamEvent(ref, entry));

    let result;
    try {
      result = await record.record(events);
    } catch (err) {
      metrics.batches.inc({ outcome: 'failed' });
      // Nothing acknowledged: the entries stay ours and pending, retried first next round.
      this.ownPending.add(key(ref));
      this.refusedByRecord(ref, err);
      throw new RecorderFault('record', ref.campaignId, ref.shard, err);
    }
    this.unblocked(ref);
    const highest = Math.max(0, ...events.map((event) => Number(event.fields.n ?? 0)));
    if (highest > (this.knownEvents.get(key(ref)) ?? 0)) this.knownEvents.set(key(ref), highest);
    if (this.health.get(key(ref)) === 'unrecorded') this.health.set(key(ref), 'consistent');
    await this.options.afterCommit?.(events);

    const ids = events.map((event) => event.streamId);
    try {
      await redis.xack(audit, this.group, ...ids);
    } catch (err) {
      // Recorded but not acknowledged: delivered again later, a no-op in the record then.
      metrics.batches.inc({ outcome: 'failed' });
      this.ownPending.add(key(ref));
      throw new RecorderFault('ack', ref.campaignId, ref.shard, err);
    }
    metrics.batches.inc({ outcome: 'ok' });
    metrics.lastBatchTimestampSeconds.set(this.clock.now() / 1000);
    for (const event of events)
      metrics.eventsRecorded.inc({
        campaign: ref.campaignId,
        type: metrics.eventTypeLabel(event.fields.type),
      });
    if (result.duplicates > 0)
      metrics.duplicates.inc({ campaign: ref.campaignId }, result.duplicates);

    const last = ids.reduce((a, b) => (compareStreamIds(a, b) >= 0 ? a : b));
    await this.step('trim', ref, () =>
      trimRecorded(redis, ref.campaignId, ref.shard, this.group, last),
    );
    return events.length;
  }

  /**
   * A batch the record refuses for what it holds (an event it cannot record: a poison event, or
   * one that diverges from the recorded history) stops the shard's recording: it is retried
   * every round (a fixed recorder resumes by itself), and the shard is reported blocked on the
   * gauge (alert CouponRecorderShardBlocked) and in the log, with the event, once. A diverged
   * event also forgets the shard's verification, so the next round compares the shard with the
   * record again and marks it rolled back.
   */
  private refusedByRecord(ref: ShardRef, err: unknown): void {
    if (!(err instanceof RecordFault) || err.kind === 'database') return;
    const id = key(ref);
    if (err.kind === 'diverged') this.verifiedRun.delete(id);
    this.options.metrics.shardBlocked.set(
      { campaign: ref.campaignId, shard: String(ref.shard) },
      1,
    );
    if (this.blocked.has(id)) return;
    this.blocked.add(id);
    this.options.logger.error(
      { err, campaign: ref.campaignId, shard: ref.shard, kind: err.kind },
      `recorder: PostgreSQL refuses an event of campaign ${ref.campaignId} shard ${ref.shard} (${err.kind}): the shard's recording is stopped at it and retried every round; see the runbook CouponRecorderShardBlocked`,
    );
  }

  private unblocked(ref: ShardRef): void {
    const id = key(ref);
    this.options.metrics.shardBlocked.set(
      { campaign: ref.campaignId, shard: String(ref.shard) },
      0,
    );
    if (!this.blocked.delete(id)) return;
    this.options.logger.info(
      { campaign: ref.campaignId, shard: ref.shard },
      "recorder: the record takes the shard's events again",
    );
  }

  /** Own pending entries, else entries a dead consumer left, else new ones. */
  private async nextBatch(ref: ShardRef): Promise<RawEntry[]> {
    const { redis, consumer, batchSize, claimIdleMs } = this.options;
    const audit = shardKeys(ref.campaignId, ref.shard).audit;
    const id = key(ref);
    if (this.ownPending.has(id)) {
      const { live, deleted } = await readGroup(redis, audit, this.group, consumer, batchSize, '0');
      // Gone from the stream while pending: nothing left to record.
      if (deleted.length > 0) await redis.xack(audit, this.group, ...deleted);
      if (live.length > 0) return live;
      this.ownPending.delete(id);
    }
    const claimed = (await redis.xautoclaim(
      audit,
      this.group,
      consumer,
      claimIdleMs,
      this.claimCursor.get(id) ?? '0-0',
      'COUNT',
      batchSize,
    )) as [string, [string, string[] | null][], string[]?];
    this.claimCursor.set(id, claimed[0]);
    const live = claimed[1].filter((entry): entry is RawEntry => entry[1] !== null);
    if (live.length > 0) {
      this.options.logger.warn(
        { campaign: ref.campaignId, shard: ref.shard, entries: live.length },
        'recorder: claimed entries another consumer left pending (it crashed or stalled)',
      );
      this.ownPending.add(id);
      return live;
    }
    return (await readGroup(redis, audit, this.group, consumer, batchSize, '>')).live;
  }

  /**
   * The group on the shard's stream, created at 0 (everything not yet recorded). A stream is
   * created (MKSTREAM) only beside an existing ledger: a shard with no ledger is reported by the
   * check, never given keys, so a Redis that lost everything stays recognisably empty.
   */
  private async ensureGroup(ref: ShardRef): Promise<boolean> {
    const id = key(ref);
    if (this.grouped.has(id)) return true;
    const { redis } = this.options;
    const keys = shardKeys(ref.campaignId, ref.shard);
    return this.step('group', ref, async () => {
      try {
        await redis.xgroup('CREATE', keys.audit, this.group, '0');
      } catch (err) {
        const message = errorText(err);
        if (message.includes('BUSYGROUP')) {
          // Someone created it: fine.
        } else if (/requires the key to exist|no such key/i.test(message)) {
          if ((await redis.hexists(keys.ledger, 'fingerprint')) === 0) return false;
          try {
            await redis.xgroup('CREATE', keys.audit, this.group, '0', 'MKSTREAM');
          } catch (again) {
            if (!errorText(again).includes('BUSYGROUP')) throw again;
          }
        } else {
          throw err;
        }
      }
      this.grouped.add(id);
      return true;
    });
  }

  private async step<T>(step: RecorderStep, ref: ShardRef, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      // A stream without the group (Redis restarted empty, or flushed): create it again.
      if (errorText(err).includes('NOGROUP')) this.grouped.delete(key(ref));
      throw new RecorderFault(step, ref.campaignId, ref.shard, err);
    }
  }

  private failed(ref: ShardRef, fault: RecorderFault): void {
    const id = key(ref);
    if (this.failing.get(id) === fault.step) return;
    this.failing.set(id, fault.step);
    this.options.logger.error(
      { err: fault.cause, campaign: ref.campaignId, shard: ref.shard, step: fault.step },
      `recorder: ${fault.message}; nothing of the batch was acknowledged, retrying`,
    );
  }

  private recovered(ref: ShardRef): void {
    const id = key(ref);
    const step = this.failing.get(id);
    if (step === undefined) return;
    this.failing.delete(id);
    this.options.logger.info(
      { campaign: ref.campaignId, shard: ref.shard, step },
      'recorder: shard recording again',
    );
  }

  /**
   * Lag, age of the oldest unrecorded entry, and the rollback check, on every shard. Faults are
   * logged; the lag is sampled even when the check against PostgreSQL fails.
   */
  async sample(): Promise<void> {
    const missing = new Map<string, number>();
    for (const ref of this.options.shards) missing.set(ref.campaignId, 0);
    await Promise.all(
      this.options.shards.map(async (ref) => {
        // Apart: the lag is read from Redis alone, so it keeps growing on the gauges while
        // PostgreSQL is down (when the check against the record cannot run).
        const apart = async (work: () => Promise<void>) => {
          try {
            await work();
          } catch (err) {
            this.failed(
              ref,
              err instanceof RecorderFault
                ? err
                : new RecorderFault('sample', ref.campaignId, ref.shard, err),
            );
          }
        };
        await apart(async () => {
          const health = await this.checkShard(ref);
          if (health === 'ledger_missing')
            missing.set(ref.campaignId, (missing.get(ref.campaignId) ?? 0) + 1);
        });
        await apart(async () => {
          await this.sampleLag(ref);
        });
      }),
    );
    for (const [campaign, count] of missing)
      this.options.metrics.ledgersMissing.set({ campaign }, count);
  }

  /** Entries not yet recorded on the shard, and the age of the oldest of them. */
  async sampleLag(ref: ShardRef): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const { redis, metrics } = this.options;
    const audit = shardKeys(ref.campaignId, ref.shard).audit;
    const labels = { campaign: ref.campaignId, shard: String(ref.shard) };
    const groups = await this.step('sample', ref, async () => {
      if ((await redis.exists(audit)) === 0) return [] as unknown[][];
      return (await redis.xinfo('GROUPS', audit)) as unknown[][];
    });
    const { pending, oldest } = await unrecordedEntries(redis, audit, this.group, groups);
    const oldestAgeSeconds =
      oldest === undefined ? 0 : Math.max(0, (this.clock.now() - streamIdMs(oldest)) / 1000);
    metrics.pending.set(labels, pending);
    metrics.oldestUnrecordedAgeSeconds.set(labels, oldestAgeSeconds);
    return { pending, oldestAgeSeconds };
  }

  /**
   * The fence (lua/checkRecorded-2.lua): whether the Redis process holding the shard is one this
   * recorder verified against the record. A new process (a restart, a restore from a snapshot, a
   * failover) is verified by the shard's event sequence before anything of it is recorded: at
   * or ahead of the record on the same history, a fenced ledger is fenced to it and serves again;
   * behind or diverged, it is marked rolled back, in Redis and in the record. Runs before every
   * batch; only a process not yet verified costs a read of the record. A missing ledger is
   * reported. Each state is logged once per process, with what the operator does.
   */
  async checkShard(ref: ShardRef): Promise<ShardHealth> {
    const { redis, record, metrics, logger } = this.options;
    const id = key(ref);
    const known = this.verifiedRun.get(id) ?? '';
    let check = await this.step('check', ref, () =>
      checkRecorded(redis, ref.campaignId, ref.shard, known, undefined, this.knownEvents.get(id)),
    );
    let position: RecordedShardPosition | null | undefined;
    if (check.kind === 'unverified') {
      this.verifiedRun.delete(id);
      position = await this.step('check', ref, () => record.position(ref.campaignId, ref.shard));
      const recorded = position;
      check = await this.step('check', ref, () =>
        checkRecorded(redis, ref.campaignId, ref.shard, known, recorded),
      );
    }
    let health: ShardHealth;
    let detail = '';
    switch (check.kind) {
      case 'verified':
        this.verifiedRun.set(id, check.runId);
        if (position !== undefined) this.knownEvents.set(id, position?.events ?? 0);
        this.markedInRecord.delete(id);
        if (check.fencedNow) {
          metrics.fenced.inc({ campaign: ref.campaignId });
          logger.info(
            { campaign: ref.campaignId, shard: ref.shard, runId: check.runId },
            'recorder: shard verified against the record on a new Redis process; it serves again',
          );
        }
        health =
          position === null || (position === undefined && this.health.get(id) === 'unrecorded')
            ? 'unrecorded'
            : 'consistent';
        break;
      case 'rolled_back':
        this.verifiedRun.delete(id);
        detail = check.detail;
        if (check.markedNow) metrics.rollbacksDetected.inc({ campaign: ref.campaignId });
        if (!this.markedInRecord.has(id)) {
          await this.step('check', ref, () =>
            record.markRolledBack(
              ref.campaignId,
              ref.shard,
              check.detail,
              markedAtMs(check.detail),
            ),
          );
          this.markedInRecord.add(id);
        }
        health = 'rolled_back';
        break;
      default:
        this.verifiedRun.delete(id);
        health = 'ledger_missing';
    }
    const before = this.health.get(id);
    this.health.set(id, health);
    if (before === health) return health;
    if (health === 'ledger_missing')
      position ??= await this.step('check', ref, () => record.position(ref.campaignId, ref.shard));
    logHealthChange(logger, ref, before, health, detail, position);
    return health;
  }
}
