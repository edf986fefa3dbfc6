-- The fence (docs/durability.md): every audit event carries its sequence number on the shard (n,
-- the ledger's event count after it), so the record knows its highest sequence per shard and the
-- stream id there, and the recorder verifies a Redis process by it before recording from it. The
-- money settings each shard was initialised with, so a rebuild refuses a campaigns file that
-- changed them. And when a rebuild last cleared the rolled-back mark, so a mark detected before
-- that rebuild and written late does not close the rebuilt shard again.

-- Up Migration

-- Null for events appended before sequence numbers (their order is the stream's).
ALTER TABLE ledger_events ADD COLUMN seq bigint;

ALTER TABLE shard_positions
  ADD COLUMN fingerprint text,
  ADD COLUMN money jsonb,
  -- Redis time (ms) of the rebuild that last cleared the mark.
  ADD COLUMN rolled_back_cleared_ms bigint;

-- Down Migration

ALTER TABLE shard_positions
  DROP COLUMN rolled_back_cleared_ms,
  DROP COLUMN money,
  DROP COLUMN fingerprint;
ALTER TABLE ledger_events DROP COLUMN seq;
