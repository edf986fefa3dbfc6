--[[
  Reverses the redemption of a coupon by a cancelled order: the coupon is usable again until it
  expires (after expiry it stays expired). Idempotent: a second reversal changes nothing.

  KEYS[1] coupon  HASH  (see redeemCoupon-3.lua); x:<orderId> = reversedAt marks a reversal
  KEYS[2] ledger  HASH  redeemed, redeemedFen
  KEYS[3] audit   STREAM

  ARGV[1] userId
  ARGV[2] orderId
  ARGV[3] callerNowMs   used as the time only when ARGV[4] is "1" (tests); else Redis TIME
  ARGV[4] trustCallerTime

  Returns
   {1, nowMs}  reversed now        {3, reversedAt}  already reversed (no change)
   {-1} the shard's ledger is missing (lost state: refuse, never recreate it)
   {-13} no such coupon for this user   {-17} this order never redeemed this coupon
]]
local now
if ARGV[4] == '1' then
  now = tonumber(ARGV[3])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

if redis.call('HEXISTS', KEYS[2], 'fingerprint') == 0 then return {-1} end

local coupon = redis.call('HMGET', KEYS[1], 'userId', 'status', 'orderId', 'discountFen',
  'x:' .. ARGV[2], 'code')
if not coupon[1] or coupon[1] ~= ARGV[1] then return {-13} end
if coupon[2] ~= 'redeemed' or coupon[3] ~= ARGV[2] then
  if coupon[5] then return {3, tonumber(coupon[5])} end
  return {-17}
end

local discount = tonumber(coupon[4])
redis.call('HSET', KEYS[1], 'status', 'issued', 'x:' .. ARGV[2], now)
redis.call('HDEL', KEYS[1], 'orderId', 'discountFen', 'redeemedAt', 'r:' .. ARGV[2])
redis.call('HINCRBY', KEYS[2], 'redeemed', -1)
redis.call('HINCRBY', KEYS[2], 'redeemedFen', -discount)
redis.call('XADD', KEYS[3], '*', 'type', 'reversed', 'code', coupon[6], 'userId', ARGV[1],
  'orderId', ARGV[2], 'discountFen', discount, 'at', now)
return {1, now}
