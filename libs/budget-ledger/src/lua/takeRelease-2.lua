--[[
  Rebalancing, step 1 of 2: takes unspent released budget away from a rich shard. The budget
  leaves this shard before any other shard may spend it, so a transfer can never over-spend;
  a crash before step 2 (giveRelease-2.lua) under-spends until the transfer is completed.
  Idempotent per transfer id.

  KEYS[1] ledger  HASH  adj (campaign scope) or adj:<day> (day scope), xout:<id> = "<target>:<coupons>:<scopeField>"
  KEYS[2] audit   STREAM

  ARGV[1] transferId
  ARGV[2] coupons      how many to move (> 0)
  ARGV[3] capCoupons   this shard's released share at the caller's time (as for issueCoupon-5)
  ARGV[4] scope        "campaign" or "day"
  ARGV[5] day          YYYY-MM-DD (for the day scope)
  ARGV[6] target       the receiving shard
  ARGV[7] atMs         the caller's time capCoupons was computed for
  ARGV[8] trustCallerTime  "1" only in tests

  Returns {1} taken   {3} this transfer was taken already   {-1} ledger missing
          {-3, nowMs} atMs ahead of Redis time   {-19, unspent} not enough unspent budget
]]
if ARGV[8] ~= '1' then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if tonumber(ARGV[7]) > now then return {-3, now} end
end
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'xout:' .. ARGV[1]) == 1 then return {3} end

local adjField, spentField = 'adj', 'issued'
if ARGV[4] == 'day' then adjField, spentField = 'adj:' .. ARGV[5], 'day:' .. ARGV[5] end
local row = redis.call('HMGET', KEYS[1], adjField, spentField)
local unspent = tonumber(ARGV[3]) + tonumber(row[1] or '0') - tonumber(row[2] or '0')
local coupons = tonumber(ARGV[2])
if coupons < 1 or unspent < coupons then return {-19, unspent} end

redis.call('HINCRBY', KEYS[1], adjField, -coupons)
redis.call('HSET', KEYS[1], 'xout:' .. ARGV[1], ARGV[6] .. ':' .. coupons .. ':' .. adjField)
redis.call('XADD', KEYS[2], '*', 'type', 'rebalance-out', 'transfer', ARGV[1], 'coupons', coupons,
  'target', ARGV[6], 'field', adjField)
return {1}
