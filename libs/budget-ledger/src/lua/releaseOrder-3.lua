--[[
  Frees what reserveOrder-3.lua held: one holder of a code whose redemption was definitely
  refused ("refused"), or the code whole once its redemption is reversed ("reversed").

  KEYS[1] order   HASH  (see reserveOrder-3.lua)
  KEYS[2] ledger  HASH  of the order's shard (the guard's fields)
  KEYS[3] audit   STREAM (only read by the guard)

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8] code
  ARGV[9] why    "refused" or "reversed"

  Returns {1, V} released   {3, V} the order did not hold this code (nothing written)
   and the guard's refusals; {-40, i} ARGV[i] missing or not of its kind; {-41, i} KEYS[i]
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'code', 'text'}, true)
if bad then return bad end
if ARGV[9] ~= 'refused' and ARGV[9] ~= 'reversed' then return {-40, 9} end
local refused, _, _, now = guardedRow('^{[^}]*}:o:[%w._-]+$', {})
if refused then return refused end

local holders = tonumber(redis.call('HGET', KEYS[1], ARGV[8]) or '0')
if not holders or holders < 1 then return reply(3, now) end
if ARGV[9] == 'reversed' or holders == 1 then
  redis.call('HDEL', KEYS[1], ARGV[8])
else
  redis.call('HSET', KEYS[1], ARGV[8], int(holders - 1))
end
return reply(1, now)
