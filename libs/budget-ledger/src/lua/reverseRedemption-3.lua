--[[
  Reverses the redemption of a coupon by a cancelled order: the coupon is usable again until it
  expires (after expiry it stays expired). Idempotent: a second reversal changes nothing, and the
  order's x: marker keeps it from ever redeeming again (redeemCoupon-3.lua).

  KEYS[1] coupon  HASH  (see redeemCoupon-3.lua); x:<orderId> = reversedAt marks a reversal
  KEYS[2] ledger  HASH  redeemed, redeemedFen (and the guard's fields)
  KEYS[3] audit   STREAM

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8] userId
  ARGV[9] orderId

  Returns (V = gen, events, lastEventId, nowMs; C = the coupon's fields after it)
   {1, V, reversedAt, C}  reversed now        {3, V, reversedAt, C}  reversed before (no change)
   {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} Redis clock behind
   {-13, V} no such coupon for this user   {-17, V} this order never redeemed this coupon
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end

local orderId = ARGV[9]
local coupon = redis.call('HMGET', KEYS[1], 'userId', 'status', 'orderId', 'discountFen',
  'x:' .. orderId, 'code')
if not coupon[1] or coupon[1] ~= ARGV[8] then return reply(-13, now) end
if coupon[2] ~= 'redeemed' or coupon[3] ~= orderId then
  if coupon[5] then return reply(3, now, coupon[5], unpack(redis.call('HGETALL', KEYS[1]))) end
  return reply(-17, now)
end

local discount = coupon[4]
local at = int(now)
redis.call('HSET', KEYS[1], 'status', 'issued', 'x:' .. orderId, at)
redis.call('HDEL', KEYS[1], 'orderId', 'discountFen', 'redeemedAt', 'r:' .. orderId)
redis.call('HINCRBY', KEYS[2], 'redeemed', -1)
redis.call('HINCRBY', KEYS[2], 'redeemedFen', '-' .. discount)
appendEvent(KEYS[2], KEYS[3], {'type', 'reversed', 'code', coupon[6], 'userId', ARGV[8],
  'orderId', orderId, 'discountFen', discount, 'at', at})
return reply(1, now, at, unpack(redis.call('HGETALL', KEYS[1])))
