--[[
  Redeems a coupon for one order, at most once; the same order again is a replay, and an order
  whose redemption was reversed never redeems again. (At most couponsPerOrder coupons per order
  is the order's reservation, reserveOrder-3.lua, taken before this runs.)
  Check order: owner -> replay -> reversed order -> expiry -> redeemed for another order -> minimum.

  KEYS[1] coupon  HASH  u = userId, t = issuedAt; while redeemed o = orderId, f = discountFen,
                        a = redeemedAt; x:<orderId> = reversedAt for each reversed order
                        key {tag}:c:<code>
  KEYS[2] ledger  HASH  redeemed, redeemedFen (and the guard's fields)
  KEYS[3] audit   STREAM

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8]  userId
  ARGV[9]  orderId
  ARGV[10] orderAmountFen
  ARGV[11] minOrderFen
  ARGV[12] valueFen        the campaign's (the fingerprint covers it; the record does not repeat it)
  ARGV[13] expiresAtMs     likewise

  Returns (V = gen, events, lastEventId, nowMs; C = the coupon's fields, as HGETALL, after it)
   {1, V, discountFen, redeemedAt, C}   redeemed now
   {2, V, discountFen, redeemedAt, C}   this order had redeemed it already (replay)
   {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} Redis clock behind
   {-13, V} no such coupon for this user   {-14, V, C} expired   {-15, V} redeemed by another order
   {-16, V} order below the minimum   {-23, V, reversedAt, C} this order's redemption was reversed
   {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] not of this shard or form
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id', 'id', 'count', 'count', 'positive', 'ms'}, true)
if bad then return bad end
local refused, code, ledger, now = guardedRow('^{[^}]*}:c:([%dA-Z]+)$', {'redeemed', 'redeemedFen'})
if refused then return refused end

local orderId = ARGV[9]
local c = redis.call('HMGET', KEYS[1], 'u', 't', 'o', 'f', 'a', 'x:' .. orderId)
if not c[1] or c[1] ~= ARGV[8] then return reply(-13, now) end
local function fields()
  if c[3] then return 'u', c[1], 't', c[2], 'o', c[3], 'f', c[4], 'a', c[5] end
  return 'u', c[1], 't', c[2]
end

if c[3] == orderId then return reply(2, now, c[4], c[5], fields()) end
if c[6] then return reply(-23, now, c[6], fields()) end
if now > tonumber(ARGV[13]) then return reply(-14, now, fields()) end
if c[3] then return reply(-15, now) end
local amount = tonumber(ARGV[10])
if amount < tonumber(ARGV[11]) then return reply(-16, now) end

local discount = int(math.min(tonumber(ARGV[12]), amount))
local at = int(now)
local redeemed = int(tonumber(ledger.redeemed or '0') + 1)
local redeemedFen = int(tonumber(ledger.redeemedFen or '0') + tonumber(discount))
-- The event first: XADD is the first write, so an audit key of another type fails with nothing
-- written.
appendEvent(KEYS[2], KEYS[3], {'type', 'redeemed', 'code', code, 'userId', ARGV[8],
  'orderId', orderId, 'discountFen', discount, 'at', at})
redis.call('HSET', KEYS[2], 'redeemed', redeemed, 'redeemedFen', redeemedFen)
redis.call('HSET', KEYS[1], 'o', orderId, 'f', discount, 'a', at)
c[3], c[4], c[5] = orderId, discount, at
return reply(1, now, discount, at, fields())
