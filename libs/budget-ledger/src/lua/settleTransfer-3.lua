--[[
  Rebalancing, step 3 of 3: on the source, records how a transfer ended. "done": the target was
  credited. "void": the target is a ledger generation the transfer was not taken for (it was lost
  and re-created), so the budget is written off, counted as spent, never credited.

  KEYS[1] ledger   HASH  xout:<id> (see takeRelease-3.lua)
  KEYS[2] audit    STREAM  gets a "rebalance-void" event for a write-off
  KEYS[3] transit  SET

  ARGV[1] transferId
  ARGV[2] outcome   "done" or "void"

  Returns {1} settled now   {3} settled before   {-1} ledger missing   {-20} rolled back
          {-17} no such transfer here (removed from the transit set)
]]
-- @include guard.lua

if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'rolledBack') == 1 then return {-20} end
local id = ARGV[1]
local record = redis.call('HGET', KEYS[1], 'xout:' .. id)
redis.call('SREM', KEYS[3], id)
if not record then return {-17} end
if string.sub(record, 1, 5) ~= 'sent:' then return {3} end
redis.call('HSET', KEYS[1], 'xout:' .. id, ARGV[2] .. string.sub(record, 5))
if ARGV[2] == 'void' then
  local target, coupons = string.match(record, '^sent:(%d+):(%d+):')
  local time = redis.call('TIME')
  appendEvent(KEYS[1], KEYS[2], {'type', 'rebalance-void', 'transfer', id, 'coupons', coupons,
    'target', target, 'at', int(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))})
end
return {1}
