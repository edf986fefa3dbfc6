--[[
  The recorder's rollback check: PostgreSQL holds every audit event recorded so far, so the last
  recorded stream id and the ledger generation it belongs to are a floor the shard can never be
  below. A shard behind it was restored from an older snapshot or failed over to a replica that
  lagged: it is marked rolledBack (the field the guard in includes/guard.lua refuses, the same
  kind of text), so every script refuses it until an operator rebuilds it from the record.

  Behind means: the ledger's generation is older than the recorded one; or, in the same
  generation, its lastEventId is before the recorded id, or the recorded id is gone from the
  stream although it is not before trimmedTo (trimmed entries are not expected to be there); or
  the stream's newest entry is before the recorded id.

  KEYS[1] ledger  HASH
  KEYS[2] audit   STREAM

  ARGV[1] recordedGen  the generation of the last recorded event ("<ms>")
  ARGV[2] recordedId   the last recorded stream id ("<ms>-<seq>")

  Returns {1, gen, lastEventId} not behind   {-1} ledger missing (nothing written)
          {-20, text, markedNow} rolled back: markedNow 1 when this call set the mark, 0 when it
          was set before (text is the ledger's rolledBack field)
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'count', 'streamId'})
if bad then return bad end

local row = redis.call('HMGET', KEYS[1], 'fingerprint', 'rolledBack', 'gen', 'events',
  'lastEventId', 'trimmedTo')
if not row[1] then return {-1} end
if row[2] then return {-20, row[2], 0} end

local gen = tonumber(row[3] or '0')
local events = row[4] or '0'
local last = row[5] or ''
local trimmedTo = row[6]
local recordedGen = tonumber(ARGV[1])
local recordedId = ARGV[2]

local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local streamLast = ''
if #newest > 0 then streamLast = newest[1][1] end

local behind = gen < recordedGen
if not behind and gen == recordedGen then
  if last == '' or idBefore(last, recordedId) then
    behind = true
  elseif (not trimmedTo or not idBefore(recordedId, trimmedTo))
      and #redis.call('XRANGE', KEYS[2], recordedId, recordedId) == 0 then
    behind = true
  end
end
if not behind and streamLast ~= '' and idBefore(streamLast, recordedId) then behind = true end
if not behind then return {1, int(gen), last} end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local text = int(now) .. ' recorder recorded ' .. recordedId .. ' gen ' .. ARGV[1]
  .. '; ledger has gen ' .. int(gen) .. ' events ' .. events .. ' last ' .. last
  .. ', stream last ' .. streamLast
redis.call('HSET', KEYS[1], 'rolledBack', text)
return {-20, text, 1}
