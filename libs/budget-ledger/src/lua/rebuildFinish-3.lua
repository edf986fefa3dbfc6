--[[
  Rebuild from the book of record, step 3 of 3: replaces the shard's ledger with the one the
  record gives, as a new generation (transfers addressed to the old one are written off, as after
  any restore), and appends a "restore" event that says so. The records of step 2 are in place.

  KEYS[1] ledger   HASH  replaced whole: fingerprint, shardPoolCoupons, issued, day:<d>, ...
                         (but trimmedTo, the recorder's trim, is kept)
  KEYS[2] audit    STREAM  gets {type restore, gen, events, writtenOff 0, day, dayWrittenOff 0,
                           at, source record, recordLast}
  KEYS[3] transit  SET   replaced: the transfers taken here and not given nor written off

  ARGV[1] token
  ARGV[2] recordEvents  the ledger's event count as of the record's last event
  ARGV[3] recordLast    the record's last stream id of the shard
  ARGV[4] day           today (YYYY-MM-DD, "-" outside the campaign), for the restore event
  ARGV[5] leaveMarked   "" to open the shard; otherwise it stays rolled back with this reason
                        (the operator asked for a write-off of what the record may lack)
  ARGV[6] n             ledger fields that follow
  ARGV[7..6+2n]         field, value pairs (gen, events, lastEventId are set here)
  ARGV[7+2n..]          transfer ids in transit

  Returns {1, gen, lastEventId}   {-26} not this rebuild's
]]
-- @include args.lua
-- Every argument and the stream's type checked before the first write (includes/args.lua).
for i, kind in ipairs({'text', 'count', 'streamId', 'day'}) do
  if ARGV[i] == nil or not argOk(kind, ARGV[i]) then return {-40, i} end
end
if ARGV[5] == nil then return {-40, 5} end
if ARGV[6] == nil or not argOk('count', ARGV[6]) then return {-40, 6} end
if #ARGV < 6 + 2 * tonumber(ARGV[6]) then return {-40, #ARGV + 1} end
local auditType = redis.call('TYPE', KEYS[2]).ok
if auditType ~= 'stream' and auditType ~= 'none' then return {-41, 2} end
if redis.call('HGET', KEYS[1], 'rebuild') ~= ARGV[1] then return {-26} end
local time = redis.call('TIME')
local now = string.format('%d', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
local n = tonumber(ARGV[6])
local events = string.format('%d', tonumber(ARGV[2]) + 1)
-- What the recorder trimmed stays trimmed: the guard and reconcile must know the stream's
-- history before it is in PostgreSQL only.
local trimmedTo = redis.call('HGET', KEYS[1], 'trimmedTo')
redis.call('DEL', KEYS[1], KEYS[3])
-- In chunks: unpack() of more than a few thousand values overflows Lua's stack.
for first = 7, 6 + 2 * n, 2000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, first, math.min(first + 1999, 6 + 2 * n)))
end
for i = 7 + 2 * n, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
local id = redis.call('XADD', KEYS[2], '*', 'type', 'restore', 'gen', now, 'events', events,
  'writtenOff', '0', 'day', ARGV[4], 'dayWrittenOff', '0', 'at', now, 'source', 'record',
  'recordLast', ARGV[3])
redis.call('HSET', KEYS[1], 'gen', now, 'events', events, 'lastEventId', id)
if trimmedTo then redis.call('HSET', KEYS[1], 'trimmedTo', trimmedTo) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'rolledBack', now .. ' ' .. ARGV[5]) end
return {1, tonumber(now), id}
