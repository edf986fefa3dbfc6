--[[
  The operator's way out of a rolled-back shard: everything the shard could still issue from what
  has been released is counted as issued (the lost state may have given it away), the mark is
  cleared, and the ledger becomes a new generation (transfers into the old one are written off).
  New budget comes with the next release.

  KEYS[1] ledger  HASH
  KEYS[2] audit   STREAM  gets a "restore" event: gen, events, writtenOff, day, dayWrittenOff

  ARGV[1] capCoupons     the shard's released coupons in the window (as for issueCoupon-5)
  ARGV[2] scope          "campaign" or "day"
  ARGV[3] day
  ARGV[4] windowFromMs
  ARGV[5] windowUntilMs

  Returns {1, gen, writtenOff}   {-24} not marked rolled back (nothing to do)   {-1} ledger missing
          {-3, nowMs} Redis time outside the window
          {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] of another type
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'count', 'scope', 'day', 'ms', 'ms'})
if bad then return bad end
local audit = redis.call('TYPE', KEYS[2]).ok
if audit ~= 'stream' and audit ~= 'none' then return {-41, 2} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dayField = 'day:' .. ARGV[3]
local ledger = redis.call('HMGET', KEYS[1], 'fingerprint', 'rolledBack', 'issued', 'adj',
  'writtenOff', 'events', dayField, 'adj:' .. ARGV[3])
if not ledger[1] then return {-1} end
if not ledger[2] then return {-24} end
if now < tonumber(ARGV[4]) or now >= tonumber(ARGV[5]) then return {-3, now} end

local issued, writtenOff = tonumber(ledger[3] or '0'), tonumber(ledger[5] or '0')
local spent, adjustment = issued, tonumber(ledger[4] or '0')
local dayIssued = tonumber(ledger[7] or '0')
if ARGV[2] == 'day' then spent, adjustment = dayIssued, tonumber(ledger[8] or '0') end
local writeOff = math.max(0, tonumber(ARGV[1]) + adjustment - spent)
local dayWrittenOff = 0
if ARGV[2] == 'day' then dayWrittenOff = writeOff end
local events = tonumber(ledger[6] or '0') + 1

-- XADD first: an audit key of another type fails before anything is written.
local id = redis.call('XADD', KEYS[2], '*', 'type', 'restore', 'gen', int(now),
  'events', int(events), 'writtenOff', int(writeOff), 'day', ARGV[3],
  'dayWrittenOff', int(dayWrittenOff), 'at', int(now))
redis.call('HSET', KEYS[1], 'issued', int(issued + writeOff), 'writtenOff',
  int(writtenOff + writeOff), 'gen', int(now), 'events', int(events), 'lastEventId', id)
if ARGV[2] == 'day' then redis.call('HSET', KEYS[1], dayField, int(dayIssued + writeOff)) end
redis.call('HDEL', KEYS[1], 'rolledBack')
shardView.gen = now
return {1, now, writeOff}
