--[[
  Rebalancing, step 1 of 3: takes unspent released budget away from a rich shard. The budget
  leaves this shard before any other shard may spend it, so a transfer can never over-spend; a
  crash before step 2 (giveRelease-2.lua) under-spends until the transfer is completed or written
  off (settleTransfer-3.lua). Idempotent per transfer id.

  KEYS[1] ledger   HASH  adj (campaign scope) or adj:<day> (day scope),
                         xout:<id> = "<state>:<target>:<coupons>:<targetGen>:<field>",
                         state sent | done | void
  KEYS[2] audit    STREAM
  KEYS[3] transit  SET   ids of the transfers taken here and not yet settled

  ARGV[1..7] the guard's (includes/guard.lua), for this (source) shard
  ARGV[8]  transferId
  ARGV[9]  coupons        how many to move (> 0)
  ARGV[10] capCoupons     this shard's released coupons in the window (as for issueCoupon-5)
  ARGV[11] scope          "campaign" or "day"
  ARGV[12] day            YYYY-MM-DD of the window
  ARGV[13] windowFromMs
  ARGV[14] windowUntilMs
  ARGV[15] target         the receiving shard
  ARGV[16] targetGen      the receiving ledger's generation: it is credited only if it still has it

  Returns {1, V} taken   {3, V} this transfer was taken already   {-3, V} Redis time outside window
          {-19, V, unspent} not enough unspent budget   and the guard's refusals
          {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] of another type
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id', 'positive', 'count', 'scope', 'day', 'ms', 'ms',
  'count', 'count'}, true)
if bad then return bad end
-- The writes below go to three keys: each must be of its type first (Redis keeps what a script
-- wrote before a call that fails).
local kinds = {'hash', 'stream', 'set'}
for i = 1, 3 do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= kinds[i] and t ~= 'none' then return {-41, i} end
end

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[1], KEYS[2], now, {})
if not ledger then return refused end
local id = ARGV[8]
if redis.call('HEXISTS', KEYS[1], 'xout:' .. id) == 1 then return reply(3, now) end
if now < tonumber(ARGV[13]) or now >= tonumber(ARGV[14]) then return reply(-3, now) end

local adjField, spentField = 'adj', 'issued'
if ARGV[11] == 'day' then adjField, spentField = 'adj:' .. ARGV[12], 'day:' .. ARGV[12] end
local row = redis.call('HMGET', KEYS[1], adjField, spentField)
local adjustment = tonumber(row[1] or '0')
local unspent = tonumber(ARGV[10]) + adjustment - tonumber(row[2] or '0')
local coupons = tonumber(ARGV[9])
if unspent < coupons then return reply(-19, now, unspent) end

appendEvent(KEYS[1], KEYS[2], {'type', 'rebalance-out', 'transfer', id, 'coupons', int(coupons),
  'target', ARGV[15], 'targetGen', ARGV[16], 'field', adjField, 'at', int(now)})
redis.call('HSET', KEYS[1], adjField, int(adjustment - coupons), 'xout:' .. id,
  'sent:' .. ARGV[15] .. ':' .. int(coupons) .. ':' .. ARGV[16] .. ':' .. adjField)
redis.call('SADD', KEYS[3], id)
return reply(1, now)
