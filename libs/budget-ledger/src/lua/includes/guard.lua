--[[
  Shared by every script that reads or moves money on one shard (scripts.ts inlines this file
  where a script says "-- @include guard.lua"). Those scripts take these ARGV first:

  ARGV[1] trustCallerTime  "1" only in tests with an injected clock: ARGV[2] is the time
  ARGV[2] callerNowMs
  ARGV[3] fingerprint      of the campaign's money settings the caller loaded
  ARGV[4] markGen          the ledger generation the caller last saw ("" when none)
  ARGV[5] markEvents       the shard's event count the caller last saw
  ARGV[6] markEventId      the id of the last audit event the caller saw ("" when none)
  ARGV[7] notBeforeMs      Redis time may not be behind this (a failover to a slower clock)

  A ledger the caller saw ahead of what Redis now holds was rolled back (a restart from an older
  snapshot, a failover to a replica that was behind): the script marks it (field rolledBack) and
  every script refuses it from then on, whoever calls, until an operator writes it off.

  The fence: a ledger initialised fenced (field fence present) serves only the Redis process the
  book of record verified it on. The recorder's verification (checkRecorded-2.lua) writes the
  process's run id into fence; a restart, a restore from a snapshot or a failover to a replica is
  a new process with a new run id, so every script refuses (-28) until the recorder has compared
  the shard with the record again. The run id is read here, from the process itself: a caller
  cannot pass a stale one.
]]

-- Integers as exact text: Lua's own number formatting (%.14g) rounds above 10^14.
local function int(n) return string.format('%d', n) end

local function currentMs()
  if ARGV[1] == '1' then return tonumber(ARGV[2]) end
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function splitId(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

-- Stream ids "<ms>-<seq>" in order.
local function idBefore(a, b)
  local am, as = splitId(a)
  local bm, bs = splitId(b)
  return am < bm or (am == bm and as < bs)
end

local GUARD_FIELDS = {'fingerprint', 'rolledBack', 'gen', 'events', 'lastEventId', 'trimmedTo',
  'fence'}

-- This Redis process's run id (INFO server; about 4 us).
local function ownRunId()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
end

-- The shard as the caller will be told about it: generation, event count, last event id.
local shardView = {gen = 0, events = 0, last = '', read = false}

-- Reads the ledger's guard fields and `extra`; returns them by name, or nil and the reply.
-- HMGET gives false (not nil) for a missing field.
local function guardedLedger(ledgerKey, auditKey, now, extra)
  local names = {}
  for i, name in ipairs(GUARD_FIELDS) do names[i] = name end
  for _, name in ipairs(extra) do names[#names + 1] = name end
  local values = redis.call('HMGET', ledgerKey, unpack(names))
  local ledger = {}
  for i, name in ipairs(names) do ledger[name] = values[i] end

  if not ledger.fingerprint then return nil, {-1} end
  if ledger.rolledBack then return nil, {-20} end
  if ledger.fingerprint ~= ARGV[3] then return nil, {-2} end
  if ledger.fence and ledger.fence ~= ownRunId() then return nil, {-28} end
  shardView.gen = tonumber(ledger.gen or '0')
  shardView.events = tonumber(ledger.events or '0')
  shardView.read = true
  shardView.last = ledger.lastEventId or ''

  if ARGV[4] ~= '' then
    local markGen = tonumber(ARGV[4])
    local behind = shardView.gen < markGen
    if not behind and shardView.gen == markGen then
      local markId = ARGV[6]
      if shardView.events < tonumber(ARGV[5]) then
        behind = true
      elseif markId ~= '' and markId ~= shardView.last then
        -- The event the caller saw last must still be there (unless trimmed after recording).
        local checkable = (not ledger.trimmedTo) or not idBefore(markId, ledger.trimmedTo)
        if checkable and #redis.call('XRANGE', auditKey, markId, markId) == 0 then
          behind = true
        end
      end
    end
    if behind then
      redis.call('HSET', ledgerKey, 'rolledBack', int(now) .. ' caller saw gen ' .. ARGV[4]
        .. ' events ' .. ARGV[5] .. ' last ' .. ARGV[6] .. '; ledger has gen '
        .. int(shardView.gen) .. ' events ' .. int(shardView.events) .. ' last ' .. shardView.last)
      return nil, {-20}
    end
  end
  if now < tonumber(ARGV[7]) then return nil, {-4, shardView.gen, shardView.events, shardView.last, now} end
  return ledger
end

-- Appends one audit event and counts it on the ledger; `fields` are strings. The event carries
-- its sequence number n (the ledger's events after it): the recorder verifies a shard against
-- the record by it, since stream ids are times and a restored stream's new ids sort after the
-- recorded ones. n is computed, not counted first: the XADD (the one call whose key's type could
-- still fail) runs before the ledger's write, so a failed append writes nothing.
local function appendEvent(ledgerKey, auditKey, fields)
  local n
  if shardView.read then
    n = shardView.events + 1
  else
    n = tonumber(redis.call('HGET', ledgerKey, 'events') or '0') + 1
  end
  fields[#fields + 1] = 'n'
  fields[#fields + 1] = int(n)
  local id = redis.call('XADD', auditKey, '*', unpack(fields))
  redis.call('HSET', ledgerKey, 'events', int(n), 'lastEventId', id)
  shardView.events = n
  shardView.read = true
  shardView.last = id
  return id
end

-- The start of a script on one row of a shard: KEYS[1] the row, of the form `rowPattern` and on
-- the shard of KEYS[2] ({tag}:ledger), KEYS[3] that shard's audit; then the guard, reading the
-- ledger's `extra` fields too. Returns the refusal ({-41, i} for the first key that is not so, or
-- the guard's), or nil, the row pattern's match (its capture, when it has one), the ledger and
-- the current ms.
local function guardedRow(rowPattern, extra)
  local tag = string.match(KEYS[2], '^({[^}]*}):ledger$')
  if not tag then return {-41, 2} end
  local row = string.match(KEYS[1], rowPattern)
  if not row or string.find(KEYS[1], tag, 1, true) ~= 1 then return {-41, 1} end
  if KEYS[3] ~= tag .. ':audit' then return {-41, 3} end
  local now = currentMs()
  local ledger, refused = guardedLedger(KEYS[2], KEYS[3], now, extra)
  if not ledger then return refused end
  return nil, row, ledger, now
end

-- {code, gen, events, lastEventId, nowMs, ...}: every reply after the guard carries the view.
local function reply(code, now, ...)
  return {code, shardView.gen, shardView.events, shardView.last, now, ...}
end
