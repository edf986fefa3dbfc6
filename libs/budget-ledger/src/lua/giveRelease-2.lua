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
          {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] of another type
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id', 'positive', 'text', 'count', 'count', 'count'}, true)
if bad then return bad end
local field = ARGV[10]
if field ~= 'adj' and not string.match(field, '^adj:%d%d%d%d%-%d%d%-%d%d$') then return {-40, 10} end
local audit = redis.call('TYPE', KEYS[2]).ok
if audit ~= 'stream' and audit ~= 'none' then return {-41, 2} end

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[1], KEYS[2], now, {field})
if not ledger then return refused end
local id = ARGV[8]
if redis.call('HEXISTS', KEYS[1], 'xin:' .. id) == 1 then return reply(3, now) end
if ledger.gen ~= ARGV[13] then return reply(-22, now) end
local coupons = tonumber(ARGV[9])
appendEvent(KEYS[1], KEYS[2], {'type', 'rebalance-in', 'transfer', id, 'coupons', int(coupons),
  'source', ARGV[11], 'sourceGen', ARGV[12], 'field', field, 'at', int(now)})
redis.call('HSET', KEYS[1], field, int(tonumber(ledger[field] or '0') + coupons), 'xin:' .. id,
  ARGV[11] .. ':' .. int(coupons) .. ':' .. ARGV[12] .. ':' .. field)
return reply(1, now)
