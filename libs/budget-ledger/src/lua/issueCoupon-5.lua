--[[
  Issues one coupon from one shard's released budget: every check first, then every write.
  One coupon = one debit = one record = one audit event, in this one script. The day and the cap
  are decided by this script's clock (Redis TIME): the caller computed them for a window of time,
  and the script refuses (-3, with its time) when its clock is outside that window.

  KEYS[1] ledger      HASH  fingerprint, gen, events, lastEventId, shardPoolCoupons, issued,
                            day:<day>, adj, adj:<day>, rolledBack
  KEYS[2] user        HASH  total, d:<day>              key {tag}:u:<userId>
  KEYS[3] idempotency STRING "<code>\n<bodyHash>"      key {tag}:i:<scope hash>
  KEYS[4] coupon      HASH  u = userId, t = issuedAt    key {tag}:c:<code>
  KEYS[5] audit       STREAM
  The user id, the code and the idempotency scope are read from the keys, not sent twice.

  ARGV[1..7]  the guard's (includes/guard.lua): trustCallerTime, callerNowMs, fingerprint,
              markGen, markEvents, markEventId, notBeforeMs
  ARGV[8]  windowFromMs    the cap and the day below hold for Redis time in [from, until)
  ARGV[9]  windowUntilMs
  ARGV[10] capCoupons      the shard's released coupons in that window (campaign-wide or the day's)
  ARGV[11] capScope        "campaign" (rollover) or "day"; "early" / "late": the window is before
                           the campaign's start / after its last claim (refused -5 / -6)
  ARGV[12] day             YYYY-MM-DD of that window in the campaign's zone ("-": none)
  ARGV[13] dailyLimit
  ARGV[14] totalLimit
  ARGV[15] valueFen        for the audit event (the record's value; the hash does not repeat it)
  ARGV[16] expiresAtMs     for the audit event
  ARGV[17] bodyHash        of the claim body, for IDEMPOTENCY_KEY_REUSED
  ARGV[18] keepUntilMs     PEXPIREAT of user, idempotency and coupon keys

  Redis calls, each for a reason (unfenced: 12, plus XRANGE when another claim came between the
  caller's last one on this shard and this one, plus PEXPIREAT on a user's first claim; fenced:
  INFO server too). A call itself costs Redis little (about 1,500 instructions of a claim's
  470,000, measured with bench/src/tools/redisCpuPerClaim.ts `instructions`); what a call does
  is the cost, so two writes to the ledger stay two calls where that reads clearer:
    TIME                    the clock (includes/guard.lua); the only one
    HMGET ledger            the guard's fields and the budget's, today's included, in one read
    INFO server             fenced ledgers only: this process's run id (the guard)
    XRANGE audit            the event the caller saw last is still there (the guard: rollbacks)
    GET idempotency         a remembered claim is replayed before anything else is judged
    HMGET user              the user's limits
    EXISTS coupon           a code collision (65 random bits: rare, but never overwrite)
    XADD, HSET ledger       the audit event and the ledger's count of it (appendEvent); XADD
                            is the first write, so a key of the wrong type fails with nothing
                            written
    HSET ledger             issued and day:<day>, computed here from what HMGET read
    HSET user               total and d:<day>, likewise
    PEXPIREAT user          only when the user's hash is new: its keep-until is the campaign's
    HSET coupon, PEXPIREAT coupon
    SET idempotency PXAT    value and expiry in one call

  Returns (V = gen, events, lastEventId, nowMs: the shard as it is after the script)
   {1, V, unspent}                   issued; unspent = what the shard has left after it
   {2, V, code}                      replay of a remembered claim (the caller reads the record)
   {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back (refused until written off)
   {-3, V} Redis time outside the window (the caller recomputes for nowMs)
   {-4, V} Redis time behind notBeforeMs
   {-5, V} not started   {-6, V} ended   {-7, V} released budget gone (a later release may help)
   {-8, V} shard pool gone   {-9, V} user's daily limit   {-10, V} user's campaign limit
   {-11, V} key reused with another body   {-12, V} code collision (retry with a new code)
   {-40, i} ARGV[i] missing or not of its kind   {-41, i} KEYS[i] not of this shard or form
   (-40 and -41 write nothing)
]]
-- @include args.lua
-- @include guard.lua

local bad = badArgs({'ms', 'ms', 'count', 'text', 'day', 'count', 'count',
  'positive', 'ms', 'text', 'ms'}, true)
if bad then return bad end
local scope = ARGV[11]
if scope ~= 'campaign' and scope ~= 'day' and scope ~= 'early' and scope ~= 'late' then
  return {-40, 11}
end
local tag = string.match(KEYS[1], '^({[^}]*}):ledger$')
if not tag then return {-41, 1} end
local userId = string.match(KEYS[2], '^{[^}]*}:u:([%w._-]+)$')
if not userId or #userId > 128 or string.find(KEYS[2], tag, 1, true) ~= 1 then return {-41, 2} end
local idem = string.match(KEYS[3], '^{[^}]*}:i:([%w_-]+)$')
if not idem or string.find(KEYS[3], tag, 1, true) ~= 1 then return {-41, 3} end
local code = string.match(KEYS[4], '^{[^}]*}:c:([%dA-Z]+)$')
if not code or string.find(KEYS[4], tag, 1, true) ~= 1 then return {-41, 4} end
if KEYS[5] ~= tag .. ':audit' then return {-41, 5} end

local day = ARGV[12]
local now = currentMs()
local ledger, refused = guardedLedger(KEYS[1], KEYS[5], now,
  {'shardPoolCoupons', 'issued', 'adj', 'day:' .. day, 'adj:' .. day})
if not ledger then return refused end

local remembered = redis.call('GET', KEYS[3])
if remembered then
  local sep = string.find(remembered, '\n', 1, true)
  if string.sub(remembered, sep + 1) ~= ARGV[17] then return reply(-11, now) end
  return reply(2, now, string.sub(remembered, 1, sep - 1))
end

if now < tonumber(ARGV[8]) or now >= tonumber(ARGV[9]) then return reply(-3, now) end
if scope == 'early' then return reply(-5, now) end
if scope == 'late' then return reply(-6, now) end

local issued = tonumber(ledger.issued or '0')
local issuedToday = tonumber(ledger['day:' .. day] or '0')
if issued >= tonumber(ledger.shardPoolCoupons) then return reply(-8, now) end
local spent, adjustment = issued, tonumber(ledger.adj or '0')
if scope == 'day' then spent, adjustment = issuedToday, tonumber(ledger['adj:' .. day] or '0') end
local unspent = tonumber(ARGV[10]) + adjustment - spent
if unspent <= 0 then return reply(-7, now) end

local user = redis.call('HMGET', KEYS[2], 'total', 'd:' .. day)
local total, today = tonumber(user[1] or '0'), tonumber(user[2] or '0')
if total >= tonumber(ARGV[14]) then return reply(-10, now) end
if today >= tonumber(ARGV[13]) then return reply(-9, now) end

if redis.call('EXISTS', KEYS[4]) == 1 then return reply(-12, now) end

-- All checks passed. Records live until after the coupon's expiry (includes/args.lua's wallMs).
local expire = tonumber(ARGV[18]) > wallMs(now)

-- The event carries everything an exact rebuild from the record needs: the coupon, the
-- idempotency key's scope hash and body hash, and how long the records are kept.
appendEvent(KEYS[1], KEYS[5], {'type', 'issued', 'code', code, 'userId', userId,
  'valueFen', ARGV[15], 'day', day, 'at', int(now), 'expiresAt', ARGV[16],
  'idem', idem, 'bodyHash', ARGV[17], 'keepUntil', ARGV[18]})
redis.call('HSET', KEYS[1], 'issued', int(issued + 1), 'day:' .. day, int(issuedToday + 1))
redis.call('HSET', KEYS[2], 'total', int(total + 1), 'd:' .. day, int(today + 1))
if expire and not user[1] then redis.call('PEXPIREAT', KEYS[2], ARGV[18]) end
redis.call('HSET', KEYS[4], 'u', userId, 't', int(now))
if expire then
  redis.call('PEXPIREAT', KEYS[4], ARGV[18])
  redis.call('SET', KEYS[3], code .. '\n' .. ARGV[17], 'PXAT', ARGV[18])
else
  redis.call('SET', KEYS[3], code .. '\n' .. ARGV[17])
end
return reply(1, now, unspent - 1)
