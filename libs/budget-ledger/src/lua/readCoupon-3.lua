--[[
  Reads one coupon for its owner, behind the same guard as the scripts that move money: a coupon
  on a lost or rolled-back shard is not known, so it is not answered from what is left.

  KEYS[1] coupon  HASH  (see redeemCoupon-3.lua)
  KEYS[2] ledger  HASH  (the guard's fields)
  KEYS[3] audit   STREAM (only read: the guard checks the caller's last event is still there)

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8] userId

  Returns {1, V, C} the coupon's fields   {-13, V} no such coupon for this user
          {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} clock behind
          {-40, i} ARGV[i] missing or not of its kind
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id'}, true)
if bad then return bad end
local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end
local c = redis.call('HMGET', KEYS[1], 'u', 't', 'o', 'f', 'a')
if c[1] ~= ARGV[8] then return reply(-13, now) end
if c[3] then return reply(1, now, 'u', c[1], 't', c[2], 'o', c[3], 'f', c[4], 'a', c[5]) end
return reply(1, now, 'u', c[1], 't', c[2])
