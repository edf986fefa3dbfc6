-- The book of record: every audit event of every shard (ledger_events, append-only) and the
-- current state derived from them, written in the same transaction as the events (LedgerRecord
-- in src/record.ts). Money is integer fen in bigint; times are epoch ms in bigint, as in Redis.

-- Up Migration

CREATE TABLE ledger_events (
  campaign_id   text    NOT NULL,
  shard         integer NOT NULL CHECK (shard >= 0),
  -- The Redis stream id "<ms>-<seq>", and its two halves so the order is numeric, not textual.
  stream_id     text    NOT NULL,
  stream_ms     bigint  NOT NULL,
  stream_seq    bigint  NOT NULL,
  type          text    NOT NULL,
  at            bigint,
  gen           bigint,
  code          text,
  user_id       text,
  order_id      text,
  transfer_id   text,
  value_fen     bigint,
  discount_fen  bigint,
  coupons       bigint,
  -- Every field of the stream entry as it was, strings as Redis holds them.
  fields        jsonb   NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, shard, stream_id),
  UNIQUE (campaign_id, shard, stream_ms, stream_seq)
);
CREATE INDEX ledger_events_code ON ledger_events (campaign_id, code) WHERE code IS NOT NULL;

-- Nothing recorded is ever changed or removed: a correction is a new event.
CREATE FUNCTION ledger_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_events is append-only: % refused', TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER ledger_events_no_update_delete BEFORE UPDATE OR DELETE ON ledger_events
  FOR EACH ROW EXECUTE FUNCTION ledger_events_append_only();
CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ledger_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_append_only();

-- One row per coupon ever issued: the coupon record as Redis holds it, and how to remember it.
CREATE TABLE coupons (
  campaign_id   text    NOT NULL,
  code          text    NOT NULL,
  shard         integer NOT NULL,
  user_id       text    NOT NULL,
  value_fen     bigint  NOT NULL,
  issued_at     bigint  NOT NULL,
  expires_at    bigint  NOT NULL,
  tranche_day   text    NOT NULL,
  status        text    NOT NULL CHECK (status IN ('issued', 'redeemed')),
  order_id      text,
  discount_fen  bigint,
  redeemed_at   bigint,
  -- orderId -> reversedAt (ms, as text): an order whose redemption was reversed never redeems again.
  reversals     jsonb   NOT NULL DEFAULT '{}'::jsonb,
  idem          text,
  body_hash     text,
  keep_until    bigint,
  -- The issued event: a coupon belongs to the ledger started by the last init before it.
  issued_stream_id  text   NOT NULL,
  issued_stream_ms  bigint NOT NULL,
  issued_stream_seq bigint NOT NULL,
  PRIMARY KEY (campaign_id, code)
);
CREATE INDEX coupons_shard_user ON coupons (campaign_id, shard, user_id);

-- Per shard and tranche day: issued (coupon records), redeemed net of reversals (by the coupon's
-- tranche day), and written off (the day part of an init or restore event).
CREATE TABLE shard_day_totals (
  campaign_id       text    NOT NULL,
  shard             integer NOT NULL,
  day               text    NOT NULL,
  issued_coupons    bigint  NOT NULL DEFAULT 0,
  issued_fen        bigint  NOT NULL DEFAULT 0,
  redeemed_coupons  bigint  NOT NULL DEFAULT 0,
  redeemed_fen      bigint  NOT NULL DEFAULT 0,
  written_off_coupons bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (campaign_id, shard, day)
);

CREATE TABLE user_day_claims (
  campaign_id text    NOT NULL,
  shard       integer NOT NULL,
  user_id     text    NOT NULL,
  day         text    NOT NULL,
  claims      bigint  NOT NULL DEFAULT 0,
  -- The latest keep-until of the user's coupons: when Redis lets the user's counters expire.
  keep_until  bigint,
  PRIMARY KEY (campaign_id, shard, user_id, day)
);

-- Rebalancing transfers. The two sides are events of two shards, recorded in any order.
CREATE TABLE transfers (
  campaign_id   text    NOT NULL,
  transfer_id   text    NOT NULL,
  source_shard  integer,
  source_gen    bigint,
  target_shard  integer,
  target_gen    bigint,
  coupons       bigint  NOT NULL,
  field         text,
  taken_at      bigint,
  given_at      bigint,
  voided_at     bigint,
  state         text GENERATED ALWAYS AS (
    CASE WHEN voided_at IS NOT NULL THEN 'void'
         WHEN given_at IS NOT NULL THEN 'given'
         ELSE 'sent' END) STORED,
  PRIMARY KEY (campaign_id, transfer_id)
);

-- Per shard: how far the record goes, and the ledger's own counters that no other table holds.
CREATE TABLE shard_positions (
  campaign_id     text    NOT NULL,
  shard           integer NOT NULL,
  -- The generation of the last init or restore event recorded (null: none recorded yet).
  gen             bigint,
  init_at         bigint,
  -- The init event that started the current ledger: a loss re-initialised without the record
  -- starts a new ledger, and only what follows its init is in that ledger (rebuild.ts).
  epoch_stream_ms  bigint,
  epoch_stream_seq bigint,
  -- The last event recorded (null: only a rolled-back mark so far).
  last_stream_id  text,
  last_stream_ms  bigint,
  last_stream_seq bigint,
  -- The ledger's event count (field events) as of the last recorded event.
  ledger_events   bigint  NOT NULL DEFAULT 0,
  -- Rows of ledger_events for the shard.
  recorded_events bigint  NOT NULL DEFAULT 0,
  -- Coupons counted as issued without a coupon (init or restore writtenOff), all generations.
  written_off_coupons bigint NOT NULL DEFAULT 0,
  rolled_back_at  timestamptz,
  rolled_back_reason text,
  PRIMARY KEY (campaign_id, shard)
);

-- Down Migration

DROP TABLE shard_positions;
DROP TABLE transfers;
DROP TABLE user_day_claims;
DROP TABLE shard_day_totals;
DROP TABLE coupons;
DROP TABLE ledger_events;
DROP FUNCTION ledger_events_append_only();
