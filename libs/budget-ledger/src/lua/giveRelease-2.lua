--[[
  Rebalancing, step 2 of 3: credits a poorer shard with budget that takeRelease-3.lua took from a
  richer one, once, and only if the shard is still the ledger generation the transfer was taken
  for: a shard re-created after a loss never receives a transfer meant for the one that was lost
  (that budget stays spent: settleTransfer-3.lua writes it off).

  KEYS[1] ledger  HASH  adj / adj:<day>, xin:<id> = "<source>:<coupons>:<sourceGen>:<field>"
  KEYS[2] audit   STREAM

  ARGV[1..7] the guard's (includes/guard.lua), for this (target) shard
  ARGV[8]  transferId
  ARGV[9]  coupons
  ARGV[10] field        "adj" or "adj:<day>", as the source recorded it
  ARGV[11] source       the giving shard
  ARGV[12] sourceGen
  ARGV[13] targetGen    the generation the transfer was taken for

  Returns {1, V} given   {3, V} given already   {-22, V} this ledger is another generation now
          and the guard's refusals
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[1], KEYS[2], now, {})
if not ledger then return refused end
local id = ARGV[8]
if redis.call('HEXISTS', KEYS[1], 'xin:' .. id) == 1 then return reply(3, now) end
if ledger.gen ~= ARGV[13] then return reply(-22, now) end
redis.call('HINCRBY', KEYS[1], ARGV[10], ARGV[9])
redis.call('HSET', KEYS[1], 'xin:' .. id,
  ARGV[11] .. ':' .. ARGV[9] .. ':' .. ARGV[12] .. ':' .. ARGV[10])
appendEvent(KEYS[1], KEYS[2], {'type', 'rebalance-in', 'transfer', id, 'coupons', ARGV[9],
  'source', ARGV[11], 'sourceGen', ARGV[12], 'field', ARGV[10], 'at', int(now)})
return reply(1, now)
