--[[
  Reads one coupon for its owner, behind the same guard as the scripts that move money: a coupon
  on a lost or rolled-back shard is not known, so it is not answered from what is left.

  KEYS[1] coupon  HASH
  KEYS[2] ledger  HASH  (the guard's fields)
  KEYS[3] audit   STREAM (only read: the guard checks the caller's last event is still there)

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8] userId

  Returns {1, V, C} the coupon's fields   {-13, V} no such coupon for this user
          {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} clock behind
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end
if redis.call('HGET', KEYS[1], 'userId') ~= ARGV[8] then return reply(-13, now) end
return reply(1, now, unpack(redis.call('HGETALL', KEYS[1])))
