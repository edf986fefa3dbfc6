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
          {-27, V} the stream still holds an event of this coupon the record may lack, or more
                   than 10,000 entries (the recorder is behind): refused, nothing written
          {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back   {-4, V} clock behind
]]
-- @include guard.lua

-- A longer stream means the recorder is far behind: refuse rather than scan it.
local MAX_SCAN = 10000

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, {})
if not ledger then return refused end
if redis.call('EXISTS', KEYS[1]) == 1 then return reply(2, now) end

-- The record must hold every event of the coupon: none may still wait in the stream, which
-- after the recorder's trims holds only entries not yet recorded (and a few recorded since).
local code
for i = 9, #ARGV - 1, 2 do
  if ARGV[i] == 'code' then code = ARGV[i + 1] end
end
local waiting = redis.call('XRANGE', KEYS[3], ledger.trimmedTo or '-', '+', 'COUNT', MAX_SCAN + 1)
if #waiting > MAX_SCAN then return reply(-27, now) end
for _, entry in ipairs(waiting) do
  local fields = entry[2]
  for j = 1, #fields - 1, 2 do
    if fields[j] == 'code' and fields[j + 1] == code then return reply(-27, now) end
  end
end

redis.call('HSET', KEYS[1], unpack(ARGV, 9))
local wall = redis.call('TIME')
if ARGV[8] ~= '' and tonumber(ARGV[8]) > tonumber(wall[1]) * 1000 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[8])
end
return reply(1, now)
