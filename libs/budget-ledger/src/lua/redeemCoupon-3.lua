--[[
  Redeems a coupon for one order, at most once; the same order again is a replay, and an order
  whose redemption was reversed never redeems again.
  Check order: owner -> replay -> reversed order -> expiry -> redeemed for another order -> minimum.

  KEYS[1] coupon  HASH  code, userId, valueFen, issuedAt, expiresAt, trancheDay, status,
                        orderId, discountFen, redeemedAt,
                        r:<orderId> = "<discountFen>:<redeemedAt>", x:<orderId> = reversedAt
  KEYS[2] ledger  HASH  redeemed, redeemedFen (and the guard's fields)
  KEYS[3] audit   STREAM

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8]  userId
  ARGV[9]  orderId
  ARGV[10] orderAmountFen
  ARGV[11] minOrderFen

  Returns (V = gen, events, lastEventId, nowMs; C = the coupon's fields, as HGETALL, after it)
   {1, V, discountFen, redeemedAt, C}   redeemed now
   {2, V, discountFen, redeemedAt, C}   this order had redeemed it already (replay)
   {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} Redis clock behind
   {-13, V} no such coupon for this user   {-14, V, C} expired   {-15, V} redeemed by another order
   {-16, V} order below the minimum   {-23, V, reversedAt, C} this order's redemption was reversed
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end

local orderId = ARGV[9]
local coupon = redis.call('HMGET', KEYS[1], 'userId', 'valueFen', 'expiresAt', 'status',
  'r:' .. orderId, 'x:' .. orderId, 'code')
if not coupon[1] or coupon[1] ~= ARGV[8] then return reply(-13, now) end

if coupon[5] then
  local sep = string.find(coupon[5], ':', 1, true)
  return reply(2, now, string.sub(coupon[5], 1, sep - 1), string.sub(coupon[5], sep + 1),
    unpack(redis.call('HGETALL', KEYS[1])))
end
if coupon[6] then return reply(-23, now, coupon[6], unpack(redis.call('HGETALL', KEYS[1]))) end
if now > tonumber(coupon[3]) then return reply(-14, now, unpack(redis.call('HGETALL', KEYS[1]))) end
if coupon[4] == 'redeemed' then return reply(-15, now) end
local amount = tonumber(ARGV[10])
if amount < tonumber(ARGV[11]) then return reply(-16, now) end

local discount = int(math.min(tonumber(coupon[2]), amount))
local at = int(now)
redis.call('HSET', KEYS[1], 'status', 'redeemed', 'orderId', orderId, 'discountFen', discount,
  'redeemedAt', at, 'r:' .. orderId, discount .. ':' .. at)
redis.call('HINCRBY', KEYS[2], 'redeemed', 1)
redis.call('HINCRBY', KEYS[2], 'redeemedFen', discount)
appendEvent(KEYS[2], KEYS[3], {'type', 'redeemed', 'code', coupon[7], 'userId', ARGV[8],
  'orderId', orderId, 'discountFen', discount, 'at', at})
return reply(1, now, discount, at, unpack(redis.call('HGETALL', KEYS[1])))
