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

local function canonicalInt(s)
  if s == '0' then return 0 end
  if not string.match(s, '^%-?[1-9]%d*$') or #s > 17 then return nil end
  local n = tonumber(s)
  if n > MAX_EXACT or n < -MAX_EXACT then return nil end
  return n
end

-- Each kind answers whether a text is one; `ids` are the callers' identifiers (letters, digits,
-- ".", "_", "-": the contract's userId and orderId), codes are Crockford base 32.
local ARG_KINDS = {
  count = function(s) local n = canonicalInt(s) return n ~= nil and n >= 0 end,
  positive = function(s) local n = canonicalInt(s) return n ~= nil and n > 0 end,
  ms = function(s) return canonicalInt(s) ~= nil end,
  countOrEmpty = function(s) return s == '' or ((canonicalInt(s) or -1) >= 0) end,
  flag = function(s) return s == '0' or s == '1' end,
  id = function(s) return #s >= 1 and #s <= 128 and string.match(s, '^[%w._-]+$') ~= nil end,
  code = function(s) return #s >= 1 and #s <= 64 and string.match(s, '^[%dA-Z]+$') ~= nil end,
  hash = function(s) return #s >= 1 and #s <= 128 and string.match(s, '^[%w_-]+$') ~= nil end,
  day = function(s) return s == '-' or string.match(s, '^%d%d%d%d%-%d%d%-%d%d$') ~= nil end,
  scope = function(s) return s == 'campaign' or s == 'day' end,
  streamId = function(s) return string.match(s, '^%d+%-%d+$') ~= nil and #s <= 41 end,
  streamIdOrEmpty = function(s) return s == '' or (string.match(s, '^%d+%-%d+$') ~= nil and #s <= 41) end,
  text = function(s) return #s >= 1 and #s <= 256 end,
}

-- The guard's ARGV[1..7] (includes/guard.lua).
local GUARD_ARG_KINDS = {'flag', 'ms', 'hash', 'countOrEmpty', 'count', 'streamIdOrEmpty', 'ms'}

-- nil when ARGV is exactly `kinds` (a list, from ARGV[1]; a nested list is spliced in), else the
-- refusal {-40, i} for the first argument that is missing, extra or not of its kind.
local function badArgs(kinds)
  local flat = {}
  for _, kind in ipairs(kinds) do
    if type(kind) == 'table' then
      for _, inner in ipairs(kind) do flat[#flat + 1] = inner end
    else
      flat[#flat + 1] = kind
    end
  end
  for i, kind in ipairs(flat) do
    local value = ARGV[i]
    if value == nil or not ARG_KINDS[kind](value) then return {-40, i} end
  end
  if #ARGV ~= #flat then return {-40, #flat + 1} end
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
