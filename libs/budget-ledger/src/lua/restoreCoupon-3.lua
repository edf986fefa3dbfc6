--[[
  Puts back a coupon record that expired from Redis after the book of record took it (the recorder
  may let records PostgreSQL holds expire early), so a read or a redemption of it works again.
  Behind the same guard as the scripts that move money: nothing is restored into a lost,
  rolled-back or differently configured ledger. It changes no money and appends no event: the
  record is what the shard's own scripts wrote, as PostgreSQL recorded it.

  KEYS[1] coupon  HASH
  KEYS[2] ledger  HASH  (the guard's fields)
  KEYS[3] audit   STREAM (only read: the guard checks the caller's last event is still there)

  ARGV[1..7] the guard's (includes/guard.lua)
  ARGV[8]   keepUntilMs  PEXPIREAT of the record ("" or past: none)
  ARGV[9..] the record's fields and values

  Returns {1, V} restored   {2, V} already there (nothing written)
          {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} clock behind
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end
if redis.call('EXISTS', KEYS[1]) == 1 then return reply(2, now) end
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
local wall = redis.call('TIME')
if ARGV[8] ~= '' and tonumber(ARGV[8]) > tonumber(wall[1]) * 1000 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[8])
end
return reply(1, now)
