--[[
  The recorder (services/coupon-recorder) copies every audit event to PostgreSQL; once a batch is
  committed there and acknowledged in the stream's consumer group, the stream need not keep it.
  This trims the stream up to what is recorded and acknowledged, and records on the ledger where
  the stream now starts (trimmedTo), atomically: the guard (includes/guard.lua) checks a caller's
  last-seen event id against the stream only when it is not before trimmedTo, so a trim never
  looks like a rollback to a pod.

  Safe with several recorders: an entry below the group's smallest pending id and not after
  `upTo` (delivered, since the caller recorded it) was delivered and acknowledged, and an entry
  is acknowledged only after its commit. So the cut is the earlier of "the id after upTo" and
  the smallest id still pending in the group.

  KEYS[1] ledger  HASH    trimmedTo: the first stream id kept (only ever moves forward)
  KEYS[2] audit   STREAM  with the consumer group ARGV[1]

  ARGV[1] group   the recorder's consumer group
  ARGV[2] upTo    the last stream id this caller recorded and acknowledged ("<ms>-<seq>")

  Returns {1, trimmedTo, removed}   {3, trimmedTo} nothing to trim (the cut is not past trimmedTo)
          {-1} ledger missing (nothing trimmed: the stream is all that is left of it)
          {-20} rolled back (nothing trimmed: the operator rebuilding it may want the stream)
          {-40, i} ARGV[i] missing or not of its kind
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'text', 'streamId'})
if bad then return bad end
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'rolledBack') == 1 then return {-20} end

local ms, seq = splitId(ARGV[2])
local cut = int(ms) .. '-' .. int(seq + 1)
local pending = redis.call('XPENDING', KEYS[2], ARGV[1])
if tonumber(pending[1]) > 0 and idBefore(pending[2], cut) then cut = pending[2] end

local current = redis.call('HGET', KEYS[1], 'trimmedTo')
if current and not idBefore(current, cut) then return {3, current} end

local removed = redis.call('XTRIM', KEYS[2], 'MINID', cut)
redis.call('HSET', KEYS[1], 'trimmedTo', cut)
return {1, cut, removed}
