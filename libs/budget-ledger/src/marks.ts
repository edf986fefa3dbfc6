import type { ScriptReply } from './results';

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
