/**
 * Redis stream ids ("<ms>-<seq>") compared and stepped as the Lua scripts do
 * (includes/guard.lua): as two integers, never as text ("9-0" is before "10-0").
 */
export interface StreamIdParts {
  ms: bigint;
  seq: bigint;
}

const STREAM_ID = /^(\d+)-(\d+)$/;

export function parseStreamId(id: string): StreamIdParts {
  const match = STREAM_ID.exec(id);
  if (match === null) throw new Error(`not a stream id: ${JSON.stringify(id)}`);
  return { ms: BigInt(match[1]!), seq: BigInt(match[2]!) };
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  if (x.seq !== y.seq) return x.seq < y.seq ? -1 : 1;
  return 0;
}

/** The smallest id after `id`: what XTRIM MINID takes to drop `id` and keep everything later. */
export function nextStreamId(id: string): string {
  const { ms, seq } = parseStreamId(id);
  return `${ms}-${seq + 1n}`;
}

/** The milliseconds part: when Redis appended the entry. */
export function streamIdMs(id: string): number {
  return Number(parseStreamId(id).ms);
}
