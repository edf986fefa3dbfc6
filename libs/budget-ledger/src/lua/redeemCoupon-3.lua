--[[
  Redeems a coupon for one order, at most once; the same order again is a replay.
  Check order (DESIGN.md): owner -> replay -> expiry -> redeemed for another order -> minimum.

  KEYS[1] coupon  HASH  code, userId, valueFen, issuedAt, expiresAt, trancheDay, status,
                        orderId, discountFen, redeemedAt, r:<orderId> = "<discountFen>:<redeemedAt>"
  KEYS[2] ledger  HASH  redeemed, redeemedFen
  KEYS[3] audit   STREAM

  ARGV[1] userId
  ARGV[2] orderId
  ARGV[3] orderAmountFen
  ARGV[4] minOrderFen
  ARGV[5] callerNowMs   used as the time only when ARGV[6] is "1" (tests); else Redis TIME
  ARGV[6] trustCallerTime

  Returns
   {1, discountFen, redeemedAt}   redeemed now
   {2, discountFen, redeemedAt}   this order had redeemed it already (replay)
   {-1} the shard's ledger is missing (lost state: refuse, never recreate it)
   {-13} no such coupon for this user   {-14, nowMs} expired
   {-15} redeemed for another order     {-16} order below the minimum
]]
local now
if ARGV[6] == '1' then
  now = tonumber(ARGV[5])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

if redis.call('HEXISTS', KEYS[2], 'fingerprint') == 0 then return {-1} end

local coupon = redis.call('HMGET', KEYS[1], 'userId', 'valueFen', 'expiresAt', 'status', 'r:' .. ARGV[2])
if not coupon[1] or coupon[1] ~= ARGV[1] then return {-13} end

if coupon[5] then
  local sep = string.find(coupon[5], ':', 1, true)
  return {2, tonumber(string.sub(coupon[5], 1, sep - 1)), tonumber(string.sub(coupon[5], sep + 1))}
end
if now > tonumber(coupon[3]) then return {-14, now} end
if coupon[4] == 'redeemed' then return {-15} end
local amount = tonumber(ARGV[3])
if amount < tonumber(ARGV[4]) then return {-16} end

local discount = math.min(tonumber(coupon[2]), amount)
redis.call('HSET', KEYS[1], 'status', 'redeemed', 'orderId', ARGV[2], 'discountFen', discount,
  'redeemedAt', now, 'r:' .. ARGV[2], discount .. ':' .. now)
redis.call('HINCRBY', KEYS[2], 'redeemed', 1)
redis.call('HINCRBY', KEYS[2], 'redeemedFen', discount)
redis.call('XADD', KEYS[3], '*', 'type', 'redeemed', 'code', redis.call('HGET', KEYS[1], 'code'),
  'userId', ARGV[1], 'orderId', ARGV[2], 'discountFen', discount, 'at', now)
return {1, discount, now}
