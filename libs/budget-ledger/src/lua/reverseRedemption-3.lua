--[[
  Reverses the redemption of a coupon by a cancelled order: the coupon is usable again until it
  expires (after expiry it stays expired). Idempotent: a second reversal changes nothing, and the
  order's x: marker keeps it from ever redeeming again (redeemCoupon-3.lua). The caller then frees
  the order's reservation (releaseOrder-3.lua).

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
   {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] not of this shard or form
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id', 'id'}, true)
if bad then return bad end
local refused, code, ledger, now = guardedRow('^{[^}]*}:c:([%dA-Z]+)$', {'redeemed', 'redeemedFen'})
if refused then return refused end

local orderId = ARGV[9]
local c = redis.call('HMGET', KEYS[1], 'u', 't', 'o', 'f', 'x:' .. orderId)
if not c[1] or c[1] ~= ARGV[8] then return reply(-13, now) end
if c[3] ~= orderId then
  if c[5] then return reply(3, now, c[5], unpack(redis.call('HGETALL', KEYS[1]))) end
  return reply(-17, now)
end

-- Numbers, not text: a discount of 0 is a valid redemption (an order of 0 fen) and must reverse.
local discount = tonumber(c[4])
local at = int(now)
local redeemed = int(tonumber(ledger.redeemed or '0') - 1)
local redeemedFen = int(tonumber(ledger.redeemedFen or '0') - discount)
appendEvent(KEYS[2], KEYS[3], {'type', 'reversed', 'code', code, 'userId', ARGV[8],
  'orderId', orderId, 'discountFen', int(discount), 'at', at})
redis.call('HSET', KEYS[2], 'redeemed', redeemed, 'redeemedFen', redeemedFen)
redis.call('HDEL', KEYS[1], 'o', 'f', 'a')
redis.call('HSET', KEYS[1], 'x:' .. orderId, at)
return reply(1, now, at, 'u', c[1], 't', c[2])
