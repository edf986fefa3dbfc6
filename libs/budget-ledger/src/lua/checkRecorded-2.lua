--[[
  The recorder's verification of a shard against the book of record, before it records anything
  from this Redis process and before a fenced ledger serves from it (the fence: guard.lua).

  Every audit event carries its sequence number n (the ledger's events after it). PostgreSQL
  holds every recorded event, so its highest sequence on the shard (recordedEvents), the stream
  id at that sequence (recordedId) and the generation it belongs to (recordedGen) are a floor
  this process must be at or above, on the same history:

  - a newer generation than the record's: the shard was initialised or rebuilt since, and the
    event that says so is still in the stream, unrecorded: ahead;
  - an older generation, or fewer events in the same one: behind (a restore from an older
    snapshot, a failover to a replica that lagged);
  - as many events: the last event must be the recorded one;
  - more events: the recorded event must still be in the stream (the trim keeps the last
    recorded entry), with that sequence number. Stream ids are times, so a restored shard that
    went on appending sorts after the record; its sequence numbers do not.

  Behind or diverged: marked rolledBack (every script refuses it) until an operator rebuilds it
  from the record. Verified: a fenced ledger gets fence = this process's run id, atomically.

  Two modes. With recordedGen "" it only says whether the process is the one the caller already
  verified (knownRunId), still fenced to it, and not below the sequence the caller last knew
  recorded (recordedEvents; a rewind in the same process): no PostgreSQL read per poll.

  KEYS[1] ledger  HASH
  KEYS[2] audit   STREAM

  ARGV[1] knownRunId      the run id this caller verified last ("" when none)
  ARGV[2] recordedGen     the generation of the record's last init or restore ("0": none;
                          "": quick mode, see above)
  ARGV[3] recordedId      the record's stream id at its highest sequence ("" when none)
  ARGV[4] recordedEvents  the record's highest sequence on the shard ("0" when none; in quick
                          mode the highest the caller knows recorded)

  Returns {1, gen, lastEventId, runId, fencedNow}  verified (fencedNow 1: fence written now)
          {-28, runId}  quick mode: not the process the caller verified; verify against the record
          {-1} ledger missing (nothing written)
          {-20, text, markedNow} rolled back: markedNow 1 when this call set the mark
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'runIdOrEmpty', 'countOrEmpty', 'streamIdOrEmpty', 'count'})
if bad then return bad end
-- A record holds an event at its highest sequence exactly when that sequence is not 0: a
-- position that says otherwise is a caller's bug, never a reason to close the shard.
if ARGV[2] ~= '' and (ARGV[3] == '') ~= (ARGV[4] == '0') then return {-40, 4} end

local row = redis.call('HMGET', KEYS[1], 'fingerprint', 'rolledBack', 'gen', 'events',
  'lastEventId', 'fence')
if not row[1] then return {-1} end
if row[2] then return {-20, row[2], 0} end

local runId = ownRunId()
local gen = tonumber(row[3] or '0')
local events = tonumber(row[4] or '0')
local last = row[5] or ''
local fence = row[6]

local function verified()
  if fence and fence ~= runId then
    redis.call('HSET', KEYS[1], 'fence', runId)
    return {1, int(gen), last, runId, 1}
  end
  return {1, int(gen), last, runId, 0}
end

if ARGV[2] == '' then
  if runId == ARGV[1] and (not fence or fence == runId) and events >= tonumber(ARGV[4]) then
    return verified()
  end
  return {-28, runId}
end

local recordedGen = tonumber(ARGV[2])
local recordedId = ARGV[3]
local recordedEvents = tonumber(ARGV[4])

local problem
if recordedId == '' or gen > recordedGen then
  problem = nil
elseif gen < recordedGen then
  problem = 'an older generation'
elseif events < recordedEvents then
  problem = 'fewer events'
elseif events == recordedEvents then
  if last ~= recordedId then problem = 'another last event' end
else
  local entry = redis.call('XRANGE', KEYS[2], recordedId, recordedId)
  if #entry == 0 then
    problem = 'not the recorded event at its sequence'
  else
    local fields = entry[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'n' and tonumber(fields[i + 1]) ~= recordedEvents then
        problem = 'another sequence number at the recorded event'
      end
    end
  end
end
if not problem then return verified() end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local text = int(now) .. ' recorder verified run ' .. runId .. ': ' .. problem
  .. '; the record holds gen ' .. ARGV[2] .. ' event ' .. ARGV[4] .. ' at ' .. recordedId
  .. ', the ledger gen ' .. int(gen) .. ' events ' .. int(events) .. ' last ' .. last
redis.call('HSET', KEYS[1], 'rolledBack', text)
return {-20, text, 1}
