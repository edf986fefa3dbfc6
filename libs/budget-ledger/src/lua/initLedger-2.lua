--[[
  Creates one shard's ledger. Refuses when it exists: a ledger is never silently reset.
  Its generation (gen) is Redis time at creation: a ledger re-created after a loss is a new
  generation, so nothing addressed to the old one (a rebalancing transfer, a caller's view of it)
  is ever applied to the new one, and a restore of an older one is told apart.

  KEYS[1] ledger  HASH
  KEYS[2] audit   STREAM  gets an "init" event carrying gen, events and writtenOff

  ARGV[1] fingerprint       of the campaign's money settings
  ARGV[2] shardPoolCoupons  the shard's share of the whole pool: issued can never pass it
  ARGV[3] writtenOff        coupons counted as issued from the start (after a loss: released
                            budget that may already have been given away); 0 for a new campaign
  ARGV[4] campaignId
  ARGV[5] shard
  ARGV[6] day               today (YYYY-MM-DD), for the written-off part of today's release
  ARGV[7] dayWrittenOff     of writtenOff, what today's release contributed (caps per day)

  Returns {1, gen} created   {-18} exists already
]]
-- @include args.lua
-- Every argument and the stream's type checked before the first write (includes/args.lua).
local bad = badArgs({'hash', 'count', 'count', 'id', 'count', 'day', 'count'})
if bad then return bad end
local auditType = redis.call('TYPE', KEYS[2]).ok
if auditType ~= 'stream' and auditType ~= 'none' then return {-41, 2} end
local time = redis.call('TIME')
local now = string.format('%d', tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 1 then return {-18} end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'shardPoolCoupons', ARGV[2],
  'issued', ARGV[3], 'writtenOff', ARGV[3], 'redeemed', 0, 'redeemedFen', 0, 'adj', 0,
  'campaignId', ARGV[4], 'shard', ARGV[5], 'initAt', now, 'gen', now, 'events', 1)
if tonumber(ARGV[7]) > 0 then redis.call('HSET', KEYS[1], 'day:' .. ARGV[6], ARGV[7]) end
local id = redis.call('XADD', KEYS[2], '*', 'type', 'init', 'gen', now, 'events', '1',
  'writtenOff', ARGV[3], 'day', ARGV[6], 'dayWrittenOff', ARGV[7], 'at', now)
redis.call('HSET', KEYS[1], 'lastEventId', id)
return {1, tonumber(now)}
