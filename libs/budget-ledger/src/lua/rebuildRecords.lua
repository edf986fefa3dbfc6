--[[
  Rebuild from the book of record, step 2 of 3: writes one batch of one shard's records, as the
  scripts that made them wrote them, while the ledger is closed (rebuildBegin-2.lua). Every key
  is of the shard's slot; the batch is called with a variable number of keys.

  KEYS[1]    ledger  HASH  must carry rebuild = token
  KEYS[2..n] the keys the operations name by index

  ARGV[1] token
  ARGV[2] nowMs   Redis time the caller read: a keep-until at or before it sets no expiry (as
                  issueCoupon-5.lua keeps records whose keep-until is already past)
  ARGV[3..] operations, one after another:
    "hash", key, keepUntil, n, field1, value1, ... fieldn, valuen   DEL, HSET, PEXPIREAT
    "string", key, keepUntil, value                                 SET, PEXPIREAT
    "event", key, id, n, field1, value1, ...                         XADD at that id, once
  (key is an index into KEYS; keepUntil "" for none)

  Returns {1, operations}   {-26} not this rebuild's (the ledger has another or no token)
]]
-- @include args.lua
-- Every operation checked before the first is written (Redis keeps what a script wrote before a
-- call that fails): {-40, i} names the first bad ARGV.
local function argAt(i, kind) return ARGV[i] ~= nil and argOk(kind, ARGV[i]) end
if not argAt(1, 'text') then return {-40, 1} end
if not argAt(2, 'count') then return {-40, 2} end
do
  local j = 3
  while j <= #ARGV do
    local op, index = ARGV[j], tonumber(ARGV[j + 1] or '')
    if not argAt(j + 1, 'positive') or not KEYS[index] then return {-40, j + 1} end
    if op ~= 'hash' and op ~= 'string' and op ~= 'event' then return {-40, j} end
    local fieldsFrom
    if op == 'hash' then
      if not argAt(j + 2, 'countOrEmpty') then return {-40, j + 2} end
      if not argAt(j + 3, 'positive') then return {-40, j + 3} end
      fieldsFrom = j + 3
    elseif op == 'string' then
      if not argAt(j + 2, 'countOrEmpty') then return {-40, j + 2} end
      if ARGV[j + 3] == nil then return {-40, j + 3} end
      j = j + 4
    else
      if not argAt(j + 2, 'streamId') then return {-40, j + 2} end
      if not argAt(j + 3, 'positive') then return {-40, j + 3} end
      local t = redis.call('TYPE', KEYS[index]).ok
      if t ~= 'stream' and t ~= 'none' then return {-41, index} end
      fieldsFrom = j + 3
    end
    if fieldsFrom then
      j = fieldsFrom + 1 + 2 * tonumber(ARGV[fieldsFrom])
      if j - 1 > #ARGV then return {-40, #ARGV + 1} end
    end
  end
end
if redis.call('HGET', KEYS[1], 'rebuild') ~= ARGV[1] then return {-26} end
local now = tonumber(ARGV[2])
local function expire(key, keepUntil)
  if keepUntil ~= '' and tonumber(keepUntil) > now then redis.call('PEXPIREAT', key, keepUntil) end
end
-- The stream's last id ever added, not its newest entry: a stream the recorder trimmed (to
-- empty, even) refuses XADD at or below it.
local function lastId(key)
  if redis.call('EXISTS', key) == 0 then return nil end
  local info = redis.call('XINFO', 'STREAM', key)
  for j = 1, #info, 2 do
    if info[j] == 'last-generated-id' then return info[j + 1] end
  end
  return nil
end
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
local i, done = 3, 0
while i <= #ARGV do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'hash' then
    local keepUntil, n = ARGV[i + 2], tonumber(ARGV[i + 3])
    redis.call('DEL', key)
    redis.call('HSET', key, unpack(ARGV, i + 4, i + 3 + 2 * n))
    expire(key, keepUntil)
    i = i + 4 + 2 * n
  elseif op == 'string' then
    redis.call('SET', key, ARGV[i + 3])
    expire(key, ARGV[i + 2])
    i = i + 4
  elseif op == 'event' then
    local id, n = ARGV[i + 2], tonumber(ARGV[i + 3])
    local last = lastId(key)
    if last == nil or after(id, last) then
      redis.call('XADD', key, id, unpack(ARGV, i + 4, i + 3 + 2 * n))
    end
    i = i + 4 + 2 * n
  else
    return redis.error_reply('rebuildRecords: unknown operation ' .. tostring(op))
  end
  done = done + 1
end
return {1, done}
