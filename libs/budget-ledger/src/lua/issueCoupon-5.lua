--[[
  Issues one coupon from one shard's released budget: every check first, then every write.
  One coupon = one debit = one record = one audit event, in this one script. The day and the cap
  are decided by this script's clock (Redis TIME): the caller computed them for a window of time,
  and the script refuses (-3, with its time) when its clock is outside that window.

  KEYS[1] ledger      HASH  fingerprint, gen, events, lastEventId, shardPoolCoupons, issued,
                            day:<day>, adj, adj:<day>, rolledBack
  KEYS[2] user        HASH  total, d:<day>
  KEYS[3] idempotency STRING "<code>\n<bodyHash>"
  KEYS[4] coupon      HASH  the new coupon record
  KEYS[5] audit       STREAM

  ARGV[1..7]  the guard's (includes/guard.lua): trustCallerTime, callerNowMs, fingerprint,
              markGen, markEvents, markEventId, notBeforeMs
  ARGV[8]  windowFromMs    the cap and the day below hold for Redis time in [from, until)
  ARGV[9]  windowUntilMs
  ARGV[10] capCoupons      the shard's released coupons in that window (campaign-wide or the day's)
  ARGV[11] capScope        "campaign" (rollover) or "day"
  ARGV[12] day             YYYY-MM-DD of that window in the campaign's zone
  ARGV[13] dailyLimit
  ARGV[14] totalLimit
  ARGV[15] startsAtMs
  ARGV[16] endsAtMs        the last instant a claim may be issued
  ARGV[17] code            the new coupon's code (normalised)
  ARGV[18] userId
  ARGV[19] valueFen
  ARGV[20] expiresAtMs
  ARGV[21] bodyHash        of the claim body, for IDEMPOTENCY_KEY_REUSED
  ARGV[22] keepUntilMs     PEXPIREAT of user, idempotency and coupon keys

  Returns (V = gen, events, lastEventId, nowMs: the shard as it is after the script)
   {1, V, unspent}                   issued; unspent = what the shard has left after it
   {2, V, code}                      replay of a remembered claim (the caller reads the record)
   {-1} ledger missing   {-2} fingerprint mismatch   {-20} rolled back (refused until written off)
   {-3, V} Redis time outside the window (the caller recomputes for nowMs)
   {-4, V} Redis time behind notBeforeMs
   {-5, V} not started   {-6, V} ended   {-7, V} released budget gone (a later release may help)
   {-8, V} shard pool gone   {-9, V} user's daily limit   {-10, V} user's campaign limit
   {-11, V} key reused with another body   {-12, V} code collision (retry with a new code)
]]
-- @include guard.lua

local now = currentMs()
local ledger, refused = guardedLedger(KEYS[1], KEYS[5], now, {'shardPoolCoupons', 'issued', 'adj'})
if not ledger then return refused end

local remembered = redis.call('GET', KEYS[3])
if remembered then
  local sep = string.find(remembered, '\n', 1, true)
  if string.sub(remembered, sep + 1) ~= ARGV[21] then return reply(-11, now) end
  return reply(2, now, string.sub(remembered, 1, sep - 1))
end

if now < tonumber(ARGV[8]) or now >= tonumber(ARGV[9]) then return reply(-3, now) end
if now < tonumber(ARGV[15]) then return reply(-5, now) end
if now > tonumber(ARGV[16]) then return reply(-6, now) end

local day = ARGV[12]
local issued = tonumber(ledger.issued or '0')
if issued >= tonumber(ledger.shardPoolCoupons) then return reply(-8, now) end
local spent, adjustment
if ARGV[11] == 'day' then
  local perDay = redis.call('HMGET', KEYS[1], 'day:' .. day, 'adj:' .. day)
  spent = tonumber(perDay[1] or '0')
  adjustment = tonumber(perDay[2] or '0')
else
  spent = issued
  adjustment = tonumber(ledger.adj or '0')
end
local unspent = tonumber(ARGV[10]) + adjustment - spent
if unspent <= 0 then return reply(-7, now) end

local user = redis.call('HMGET', KEYS[2], 'total', 'd:' .. day)
if tonumber(user[1] or '0') >= tonumber(ARGV[14]) then return reply(-10, now) end
if tonumber(user[2] or '0') >= tonumber(ARGV[13]) then return reply(-9, now) end

if redis.call('EXISTS', KEYS[4]) == 1 then return reply(-12, now) end

-- All checks passed: debit, record, remember, audit.
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('HINCRBY', KEYS[1], 'day:' .. day, 1)
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], 'd:' .. day, 1)
redis.call('HSET', KEYS[4], 'code', ARGV[17], 'userId', ARGV[18], 'valueFen', ARGV[19],
  'issuedAt', int(now), 'expiresAt', ARGV[20], 'trancheDay', day, 'status', 'issued')
redis.call('SET', KEYS[3], ARGV[17] .. '\n' .. ARGV[21])
-- Records live until after the coupon's expiry (a keep-until already past, as for a campaign
-- replayed in tests, keeps them): the wall clock here is Redis's, whatever the caller's time.
local wall = redis.call('TIME')
if tonumber(ARGV[22]) > tonumber(wall[1]) * 1000 then
  redis.call('PEXPIREAT', KEYS[2], ARGV[22])
  redis.call('PEXPIREAT', KEYS[3], ARGV[22])
  redis.call('PEXPIREAT', KEYS[4], ARGV[22])
end
-- The event carries everything an exact rebuild from the record needs: the coupon, the
-- idempotency key's scope hash and body hash, and how long the records are kept.
appendEvent(KEYS[1], KEYS[5], {'type', 'issued', 'code', ARGV[17], 'userId', ARGV[18],
  'valueFen', ARGV[19], 'day', day, 'at', int(now), 'expiresAt', ARGV[20],
  'idem', string.match(KEYS[3], ':idem:(.*)$'), 'bodyHash', ARGV[21], 'keepUntil', ARGV[22]})
return reply(1, now, unspent - 1)
