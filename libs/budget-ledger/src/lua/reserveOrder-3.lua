--[[
  One coupon per order (couponsPerOrder of them): before a coupon is redeemed for an order, the
  order is reserved for that coupon here, on the order's own shard (chosen by a hash of the
  orderId, as a user's shard is: a user's coupons are all on the user's shard, an order's coupons
  may come from any). The caller then redeems on the coupon's shard, and frees its hold here
  (releaseOrder-3.lua) only when that redemption was definitely refused; a redemption that may
  have happened (a fault, a timeout) keeps the order held: money fails closed.

  Each code the order holds counts its holders: every reservation adds one, a refused redemption
  takes its own one away, a reversal takes the code off. So a refusal of one request never frees
  the order while another request of the same code redeemed it.

  KEYS[1] order   HASH  <code> = holders   key {tag}:o:<orderId> (tag of the order's shard)
  KEYS[2] ledger  HASH  of the order's shard (the guard's fields: a rolled-back or fenced shard
                        may have lost reservations, so it refuses like any money script)
  KEYS[3] audit   STREAM (only read by the guard)

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8]  code             the coupon to be redeemed for the order
  ARGV[9]  couponsPerOrder  the campaign's limit (>= 1)
  ARGV[10] keepUntilMs      PEXPIREAT of the order's hash (the coupons' keep-until)

  Returns (V = gen, events, lastEventId, nowMs of the order's shard)
   {1, V} reserved now   {3, V} this code held the order already (one more holder)
   {-42, V, code...} the order holds couponsPerOrder other codes (nothing written)
   and the guard's refusals; {-40, i} ARGV[i] missing or not of its kind; {-41, i} KEYS[i]
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'code', 'positive', 'ms'}, true)
if bad then return bad end
local refused, _, _, now = guardedRow('^{[^}]*}:o:[%w._-]+$', {})
if refused then return refused end

local held = redis.call('HGETALL', KEYS[1])
local codes = {}
for i = 1, #held, 2 do
  if held[i] == ARGV[8] then
    redis.call('HSET', KEYS[1], ARGV[8], int(tonumber(held[i + 1]) + 1))
    return reply(3, now)
  end
  codes[#codes + 1] = held[i]
end
if #codes >= tonumber(ARGV[9]) then return reply(-42, now, unpack(codes)) end
redis.call('HSET', KEYS[1], ARGV[8], '1')
if #held == 0 and tonumber(ARGV[10]) > wallMs(now) then redis.call('PEXPIREAT', KEYS[1], ARGV[10]) end
return reply(1, now)
