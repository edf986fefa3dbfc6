--[[
  Rebuild from the book of record, step 1 of 3: closes one shard for the rebuild. A ledger that
  is missing gets a placeholder (fingerprint and a rolledBack mark, so every script refuses it as
  rolled back and initLedger-2.lua does not create over it); an existing one is marked rolled back.
  Compare-and-set: refused when the ledger is not as the caller read it (an event appended since
  the caller compared Redis with the record, or a ledger created since it saw none).

  KEYS[1] ledger  HASH  gets rolledBack and rebuild = token
  KEYS[2] audit   STREAM (not written: named so the call lands on the shard's slot)

  ARGV[1] fingerprint      of the campaign's money settings
  ARGV[2] expectedLast     the ledger's lastEventId the caller read ("" when it read no ledger)
  ARGV[3] token            this rebuild's id: steps 2 and 3 write only under it
  ARGV[4] reason           for the rolledBack mark

  Returns {1} closed   {-25, lastEventId} the ledger changed since the caller read it
]]
-- @include args.lua
local bad = badArgs({'text', 'streamIdOrEmpty', 'text', 'text'})
if bad then return bad end
local ledger = redis.call('HMGET', KEYS[1], 'fingerprint', 'lastEventId', 'rebuild')
local last = ledger[2] or ''
if ledger[1] and ledger[3] == false and last ~= ARGV[2] then return {-25, last} end
if not ledger[1] and ARGV[2] ~= '' then return {-25, ''} end
if not ledger[1] then redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1]) end
local time = redis.call('TIME')
redis.call('HSET', KEYS[1], 'rolledBack', time[1] .. ' ' .. ARGV[4], 'rebuild', ARGV[3])
return {1}
