--[[
  Rebalancing, step 3 of 3: on the source, records how a transfer ended. "done": the target was
  credited. "void": the target is a ledger generation the transfer was not taken for (it was lost
  and re-created), so the budget is written off, counted as spent, never credited.

  KEYS[1] ledger   HASH  xout:<id> (see takeRelease-3.lua)
  KEYS[2] audit    STREAM  gets a "rebalance-void" event for a write-off
  KEYS[3] transit  SET

  ARGV[1] transferId
  ARGV[2] outcome   "done" or "void"

  Returns {1} settled now   {3} settled before, or its record gone: only its index entry was
          left, and is dropped   {-1} ledger missing   {-20} rolled back
          {-17} no such transfer here, nor in the transit set (nothing written)
          {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] of another type
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'id', 'text'})
if bad then return bad end
if ARGV[2] ~= 'done' and ARGV[2] ~= 'void' then return {-40, 2} end
local kinds = {'hash', 'stream', 'set'}
for i = 1, 3 do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= kinds[i] and t ~= 'none' then return {-41, i} end
end
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'rolledBack') == 1 then return {-20} end
local id = ARGV[1]
local record = redis.call('HGET', KEYS[1], 'xout:' .. id)
if not record then
  -- Only an index entry is left (its record lost with a rolled-back ledger): dropping it is all
  -- there is to do, answered as settled before, not as a refusal.
  if redis.call('SREM', KEYS[3], id) == 1 then return {3} end
  return {-17}
end
if string.sub(record, 1, 5) ~= 'sent:' then
  redis.call('SREM', KEYS[3], id)
  return {3}
end
local target, coupons = string.match(record, '^sent:(%d+):(%d+):')
if ARGV[2] == 'void' then
  local time = redis.call('TIME')
  appendEvent(KEYS[1], KEYS[2], {'type', 'rebalance-void', 'transfer', id, 'coupons', coupons,
    'target', target, 'at', int(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))})
end
redis.call('HSET', KEYS[1], 'xout:' .. id, ARGV[2] .. string.sub(record, 5))
redis.call('SREM', KEYS[3], id)
return {1}
