import { RecordFault } from './fault';

/** One entry of a shard's audit stream `{cpn:<campaign>:<shard>}:audit`, as XREADGROUP gives it. */
export interface StreamEvent {
  campaignId: string;
  shard: number;
  streamId: string;
  fields: Record<string, string>;
}

/** A stream id "<ms>-<seq>" as two decimal strings (PostgreSQL takes them as bigint). */
export interface StreamPosition {
  ms: string;
  seq: string;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const INTEGER = /^-?\d{1,19}$/;

export function parseStreamId(streamId: string): StreamPosition {
  const match = STREAM_ID.exec(streamId);
  if (match === null) throw new RecordFault('invalid_event', `not a stream id: ${streamId}`);
  return { ms: match[1]!, seq: match[2]! };
}

/** Stream ids in order: numerically by ms, then by seq (text order is wrong: "9-0" > "10-0"). */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  const byMs = BigInt(x.ms) - BigInt(y.ms);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(x.seq) - BigInt(y.seq);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}

/**
 * An integer field (fen, ms, coupons) as its exact decimal text: never through a JS number, so a
 * value past 2^53 is stored as written. Missing: undefined, unless `required`.
 */
export function integerField(
  event: StreamEvent,
  name: string,
  required: boolean,
): string | undefined {
  const value = event.fields[name];
  if (value === undefined || value === '') {
    if (required) throw invalid(event, `has no ${name}`);
    return undefined;
  }
  if (!INTEGER.test(value)) throw invalid(event, `${name} is not an integer: ${value}`);
  return value;
}

export function textField(event: StreamEvent, name: string, required: boolean): string | undefined {
  const value = event.fields[name];
  if (value === undefined || value === '') {
    if (required) throw invalid(event, `has no ${name}`);
    return undefined;
  }
  return value;
}

export function invalid(event: StreamEvent, problem: string): RecordFault {
  return new RecordFault(
    'invalid_event',
    `campaign ${event.campaignId} shard ${event.shard} event ${event.streamId} (${event.fields.type ?? 'no type'}) ${problem}`,
  );
}

/** The event types the Lua scripts append (budget-ledger/src/lua: appendEvent and XADD). */
export const EVENT_TYPES = [
  'init',
  'restore',
  'issued',
  'redeemed',
  'reversed',
  'rebalance-out',
  'rebalance-in',
  'rebalance-void',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
