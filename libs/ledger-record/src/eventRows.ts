import {
  EVENT_TYPES,
  integerField,
  invalid,
  parseStreamId,
  textField,
  type EventType,
  type StreamEvent,
} from './events';

/** An event checked and split into the columns of ledger_events (integers as exact text). */
export interface EventRow {
  event: StreamEvent;
  type: EventType;
  ms: string;
  seq: string;
  at: string | undefined;
  gen: string | undefined;
  code: string | undefined;
  userId: string | undefined;
  orderId: string | undefined;
  transferId: string | undefined;
  valueFen: string | undefined;
  discountFen: string | undefined;
  coupons: string | undefined;
  /** The event's sequence number on the shard (field n; an init or restore's events). */
  n: string | undefined;
}

/** What each type must carry, as the Lua scripts write it; anything else is refused. */
const REQUIRED: Record<EventType, { integers: string[]; texts: string[] }> = {
  init: { integers: ['gen', 'events', 'writtenOff', 'dayWrittenOff', 'at'], texts: ['day'] },
  restore: { integers: ['gen', 'events', 'writtenOff', 'dayWrittenOff', 'at'], texts: ['day'] },
  issued: {
    integers: ['valueFen', 'at', 'expiresAt'],
    texts: ['code', 'userId', 'day'],
  },
  redeemed: { integers: ['discountFen', 'at'], texts: ['code', 'userId', 'orderId'] },
  reversed: { integers: ['discountFen', 'at'], texts: ['code', 'userId', 'orderId'] },
  'rebalance-out': {
    integers: ['coupons', 'target', 'targetGen', 'at'],
    texts: ['transfer', 'field'],
  },
  'rebalance-in': {
    integers: ['coupons', 'source', 'sourceGen', 'at'],
    texts: ['transfer', 'field'],
  },
  'rebalance-void': { integers: ['coupons', 'target', 'at'], texts: ['transfer'] },
};

export function toRow(event: StreamEvent): EventRow {
  if (!Number.isSafeInteger(event.shard) || event.shard < 0)
    throw invalid(event, `has shard ${event.shard}`);
  if (event.campaignId === '') throw invalid(event, 'has no campaign id');
  const { ms, seq } = parseStreamId(event.streamId);
  const type = event.fields.type as EventType;
  if (!EVENT_TYPES.includes(type))
    throw invalid(event, 'is of a type this version of @coupons/ledger-record does not know');
  const required = REQUIRED[type];
  for (const name of required.integers) integerField(event, name, true);
  for (const name of required.texts) textField(event, name, true);
  integerField(event, 'keepUntil', false);
  const starts = type === 'init' || type === 'restore';
  const n =
    integerField(event, 'n', false) ?? (starts ? integerField(event, 'events', true) : undefined);
  if (type === 'init' && event.fields.money !== undefined) {
    try {
      JSON.parse(event.fields.money);
    } catch {
      throw invalid(event, 'carries money settings that are not JSON');
    }
  }
  return {
    n,
    event,
    type,
    ms,
    seq,
    at: integerField(event, 'at', false),
    gen: type === 'init' || type === 'restore' ? integerField(event, 'gen', true) : undefined,
    code: textField(event, 'code', false),
    userId: textField(event, 'userId', false),
    orderId: textField(event, 'orderId', false),
    transferId: textField(event, 'transfer', false),
    valueFen: integerField(event, 'valueFen', false),
    discountFen: integerField(event, 'discountFen', false),
    coupons: integerField(event, 'coupons', false),
  };
}
