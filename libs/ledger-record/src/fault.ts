/**
 * Every fault of the book of record is one type, with a kind a caller can act on:
 * - `invalid_event`: a stream entry that is not what the Lua scripts write (a field missing, an
 *   amount that is not an integer): recording it would put a guess in the book;
 * - `gap`: an event about a coupon whose issue the record does not hold (the stream was trimmed
 *   before it was recorded, or events were skipped);
 * - `diverged`: an event of the shard's current generation whose sequence number the record
 *   already holds at another stream id, or skips one: another history than the recorded one (a
 *   Redis restored from an older state that went on appending);
 * - `refused`: a rebuild or comparison that cannot be shown to be exact (see rebuild.ts);
 * - `database`: PostgreSQL failed (the transaction was rolled back: nothing was recorded).
 */
export type RecordFaultKind = 'invalid_event' | 'gap' | 'diverged' | 'refused' | 'database';

export class RecordFault extends Error {
  constructor(
    readonly kind: RecordFaultKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordFault';
  }
}
