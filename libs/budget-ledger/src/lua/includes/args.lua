--[[
  Argument checks, shared by every script that writes (scripts.ts inlines this file where a script
  says "-- @include args.lua"). Redis does not roll a script back: a call that fails half way keeps
  every write before it. So a script checks every ARGV before it reads anything with it or writes
  anything, and refuses with {-40, i} (argument i is not of its kind) having written nothing.
  Numbers are exact decimal integers in canonical form ("0", "12", "-5"; never "-0", "007", "1e3",
  "1.5", " 1"), within 2^53 so Lua's doubles hold them exactly; what a script writes it computes
  from numbers and formats with int() (never "-" .. text).
]]

local MAX_EXACT = 9007199254740991

-- The integer a text is, when the text is exactly how int() writes it: no sign on 0, no leading
-- zero, no exponent, point or space. A find without captures and tonumber allocate nothing:
-- this runs on every claim, and a script's garbage is collected on Redis's time.
local function canonicalInt(s)
  if s ~= '0' and not string.find(s, '^%-?[1-9]%d*$') then return nil end
  local n = tonumber(s)
  if n > MAX_EXACT or n < -MAX_EXACT then return nil end
  return n
end

-- Whether text `s` is of `kind`: count, positive, ms (any integer), countOrEmpty, flag; id (the
-- contract's userId and orderId: letters, digits, ".", "_", "-"), code (Crockford base 32),
-- hash, day ("YYYY-MM-DD" or "-"), scope, streamId, streamIdOrEmpty, text (1-256 bytes).
local function argOk(kind, s)
  if kind == 'ms' then return canonicalInt(s) ~= nil end
  if kind == 'count' then local n = canonicalInt(s) return n ~= nil and n >= 0 end
  if kind == 'positive' then local n = canonicalInt(s) return n ~= nil and n > 0 end
  if kind == 'text' then return #s >= 1 and #s <= 256 end
  if kind == 'id' then return #s >= 1 and #s <= 128 and string.find(s, '^[%w._-]+$') ~= nil end
  if kind == 'code' then return #s >= 1 and #s <= 64 and string.find(s, '^[%dA-Z]+$') ~= nil end
  if kind == 'hash' then return #s >= 1 and #s <= 128 and string.find(s, '^[%w_-]+$') ~= nil end
  if kind == 'day' then return s == '-' or string.find(s, '^%d%d%d%d%-%d%d%-%d%d$') ~= nil end
  if kind == 'flag' then return s == '0' or s == '1' end
  if kind == 'scope' then return s == 'campaign' or s == 'day' end
  if kind == 'countOrEmpty' then return s == '' or ((canonicalInt(s) or -1) >= 0) end
  if kind == 'streamId' then return #s <= 41 and string.find(s, '^%d+%-%d+$') ~= nil end
  if kind == 'streamIdOrEmpty' then
    return s == '' or (#s <= 41 and string.find(s, '^%d+%-%d+$') ~= nil)
  end
  return false
end

-- The guard's ARGV[1..7] (includes/guard.lua).
local GUARD_ARG_KINDS = {'flag', 'ms', 'hash', 'countOrEmpty', 'count', 'streamIdOrEmpty', 'ms'}

-- nil when ARGV is exactly the guard's kinds followed by `kinds` (when `guarded`), or `kinds`
-- alone; else the refusal {-40, i} for the first argument that is missing, extra or not of its
-- kind.
local function badArgs(kinds, guarded)
  local first = 0
  if guarded then
    first = #GUARD_ARG_KINDS
    for i = 1, first do
      local value = ARGV[i]
      if value == nil or not argOk(GUARD_ARG_KINDS[i], value) then return {-40, i} end
    end
  end
  for j = 1, #kinds do
    local value = ARGV[first + j]
    if value == nil or not argOk(kinds[j], value) then return {-40, first + j} end
  end
  if #ARGV ~= first + #kinds then return {-40, first + #kinds + 1} end
  return nil
end

-- Redis's own clock: `now` unless the caller's time is trusted (tests only), when TIME is asked.
-- Expiries compare with it, so a keep-until already past (a campaign replayed in tests) keeps
-- the records instead of deleting them at once.
local function wallMs(now)
  if ARGV[1] ~= '1' then return now end
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
