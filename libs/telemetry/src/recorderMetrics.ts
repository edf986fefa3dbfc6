import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RECORDER_BATCH_OUTCOMES } from './labels';

/**
 * The recorder's metrics (services/coupon-recorder): how far PostgreSQL is behind the audit
 * streams, and whether a shard was found behind PostgreSQL. Labels are bounded: `campaign` and
 * `shard` come from the campaigns file, `outcome` from the fixed list in labels.ts, `type` from the
 * event types the recorder is given (the ledger's, from @coupons/ledger-record) plus `other`.
 */
export interface RecorderMetrics {
  registry: Registry;
  /** The `type` label of an audit event: its type when it is one of the given ones, else `other`. */
  eventTypeLabel(type: string | undefined): string;
  /** Every value the `type` label takes. */
  eventTypeLabels: readonly string[];
  /** Events in committed batches, by type (replays of recorded events included: see duplicates). */
  eventsRecorded: Counter<'campaign' | 'type'>;
  /** Events PostgreSQL already held (a batch redelivered after a crash between commit and ack). */
  duplicates: Counter<'campaign'>;
  batches: Counter<'outcome'>;
  /** Entries not yet recorded: delivered and unacknowledged, plus not yet delivered. */
  pending: Gauge<'campaign' | 'shard'>;
  /** Age of the oldest entry not yet recorded, 0 when none. */
  oldestUnrecordedAgeSeconds: Gauge<'campaign' | 'shard'>;
  rollbacksDetected: Counter<'campaign'>;
  /** Fenced shards verified against the record on a new Redis process and opened again. */
  fenced: Counter<'campaign'>;
  /** 1 while the record refuses a batch of the shard for its content (a poison event). */
  shardBlocked: Gauge<'campaign' | 'shard'>;
  /** Shards of the campaign with no ledger in Redis (lost or never initialised). */
  ledgersMissing: Gauge<'campaign'>;
  lastBatchTimestampSeconds: Gauge;
  /** 1 while the recording loop runs (0 while it drains after SIGTERM). */
  up: Gauge;
}

/**
 * `eventTypes`: the audit event types the `type` label names; any other is counted as `other`, so
 * a stream cannot mint series. A fresh registry unless one is given (tests get their own, never
 * prom-client's global).
 */
export function createRecorderMetrics(
  eventTypes: readonly string[],
  registry: Registry = new Registry(),
): RecorderMetrics {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const known = new Set(eventTypes);
  return {
    registry,
    eventTypeLabel: (type) => (type !== undefined && known.has(type) ? type : 'other'),
    eventTypeLabels: [...known, 'other'],
    eventsRecorded: new Counter({
      name: 'coupon_recorder_events_recorded_total',
      help: 'Audit events in batches committed to PostgreSQL, by event type',
      labelNames: ['campaign', 'type'],
      registers,
    }),
    duplicates: new Counter({
      name: 'coupon_recorder_duplicate_events_total',
      help: 'Events PostgreSQL already held when their batch was committed (redelivered after a crash)',
      labelNames: ['campaign'],
      registers,
    }),
    batches: new Counter({
      name: 'coupon_recorder_batches_total',
      help: 'Recorder batches by outcome: ok (committed and acknowledged) or failed (nothing acknowledged)',
      labelNames: ['outcome'],
      registers,
    }),
    pending: new Gauge({
      name: 'coupon_recorder_pending_events',
      help: 'Audit entries not yet recorded: delivered and unacknowledged plus not yet delivered',
      labelNames: ['campaign', 'shard'],
      registers,
    }),
    oldestUnrecordedAgeSeconds: new Gauge({
      name: 'coupon_recorder_oldest_unrecorded_age_seconds',
      help: 'Age of the oldest audit entry not yet recorded in PostgreSQL (0 when none)',
      labelNames: ['campaign', 'shard'],
      registers,
    }),
    rollbacksDetected: new Counter({
      name: 'coupon_recorder_rollbacks_detected_total',
      help: 'Shards found behind what PostgreSQL recorded, and marked rolled back',
      labelNames: ['campaign'],
      registers,
    }),
    fenced: new Counter({
      name: 'coupon_recorder_shards_fenced_total',
      help: 'Fenced shards verified against PostgreSQL on a new Redis process (restart, restore, failover) and opened',
      labelNames: ['campaign'],
      registers,
    }),
    shardBlocked: new Gauge({
      name: 'coupon_recorder_shard_blocked',
      help: '1 while PostgreSQL refuses an event of the shard for its content: its recording is stopped there',
      labelNames: ['campaign', 'shard'],
      registers,
    }),
    ledgersMissing: new Gauge({
      name: 'coupon_recorder_ledgers_missing',
      help: 'Shards of the campaign whose ledger is missing from Redis',
      labelNames: ['campaign'],
      registers,
    }),
    lastBatchTimestampSeconds: new Gauge({
      name: 'coupon_recorder_last_batch_timestamp_seconds',
      help: 'When the last batch was committed and acknowledged (epoch seconds)',
      registers,
    }),
    up: new Gauge({
      name: 'coupon_recorder_up',
      help: '1 while the recorder loop runs, 0 while it drains after SIGTERM',
      registers,
    }),
  };
}

/** Every counter series at 0 from the start, so rate() and the alerts see the first event. */
export function initialiseRecorderSeries(
  metrics: RecorderMetrics,
  shards: readonly { campaignId: string; shard: number }[],
): void {
  for (const outcome of RECORDER_BATCH_OUTCOMES) metrics.batches.inc({ outcome }, 0);
  for (const campaign of new Set(shards.map((s) => s.campaignId))) {
    for (const type of metrics.eventTypeLabels) metrics.eventsRecorded.inc({ campaign, type }, 0);
    metrics.duplicates.inc({ campaign }, 0);
    metrics.rollbacksDetected.inc({ campaign }, 0);
    metrics.fenced.inc({ campaign }, 0);
    metrics.ledgersMissing.set({ campaign }, 0);
  }
  for (const { campaignId, shard } of shards) {
    metrics.pending.set({ campaign: campaignId, shard: String(shard) }, 0);
    metrics.oldestUnrecordedAgeSeconds.set({ campaign: campaignId, shard: String(shard) }, 0);
    metrics.shardBlocked.set({ campaign: campaignId, shard: String(shard) }, 0);
  }
}
