--[[
  Creates one shard's ledger. Refuses when it exists: a ledger is never silently reset.

  KEYS[1] ledger  HASH
  KEYS[2] audit   STREAM  gets an "init" event carrying writtenOff

  ARGV[1] fingerprint       of the campaign's money settings
  ARGV[2] shardPoolCoupons  the shard's share of the whole pool: issued can never pass it
  ARGV[3] writtenOff        coupons counted as issued from the start (after a loss: released
                            budget that may already have been given away); 0 for a new campaign
  ARGV[4] campaignId
  ARGV[5] shard
  ARGV[6] day               today (YYYY-MM-DD), for the written-off part of today's release
  ARGV[7] dayWrittenOff     of writtenOff, what today's release contributed (caps per day)

  Returns {1, nowMs} created   {-18} exists already
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- A fragment without a fingerprint (a counter written to a lost ledger) is not a ledger.
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 1 then return {-18} end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'shardPoolCoupons', ARGV[2],
  'issued', ARGV[3], 'writtenOff', ARGV[3], 'redeemed', 0, 'redeemedFen', 0, 'adj', 0,
  'campaignId', ARGV[4], 'shard', ARGV[5], 'initAt', now)
if tonumber(ARGV[7]) > 0 then redis.call('HSET', KEYS[1], 'day:' .. ARGV[6], ARGV[7]) end
redis.call('XADD', KEYS[2], '*', 'type', 'init', 'writtenOff', ARGV[3], 'day', ARGV[6],
  'dayWrittenOff', ARGV[7], 'at', now)
return {1, now}
