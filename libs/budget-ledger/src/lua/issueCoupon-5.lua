--[[
  Issues one coupon from one shard's released budget: every check first, then every write.
  One coupon = one debit = one record = one audit event, in this one script.

  KEYS[1] ledger      HASH  fingerprint, shardPoolCoupons, issued, day:<day>, adj, adj:<day>
  KEYS[2] user        HASH  total, d:<day>
  KEYS[3] idempotency STRING "<code>\n<bodyHash>"
  KEYS[4] coupon      HASH  the new coupon record
  KEYS[5] audit       STREAM

  ARGV[1]  atMs            the caller's Redis-tracked time the cap below was computed for
  ARGV[2]  capCoupons      the shard's released coupons at atMs (campaign-wide or for the day)
  ARGV[3]  capScope        "campaign" (rollover) or "day"
  ARGV[4]  day             YYYY-MM-DD of atMs in the campaign's zone
  ARGV[5]  dailyLimit
  ARGV[6]  totalLimit
  ARGV[7]  startsAtMs
  ARGV[8]  endsAtMs
  ARGV[9]  fingerprint     of the campaign's money settings; must match the ledger's
  ARGV[10] code            the new coupon's code (normalised)
  ARGV[11] userId
  ARGV[12] valueFen
  ARGV[13] expiresAtMs
  ARGV[14] bodyHash        of the claim body, for IDEMPOTENCY_KEY_REUSED
  ARGV[15] keepUntilMs     PEXPIREAT of user, idempotency and coupon keys
  ARGV[16] maxLagMs        how far atMs may trail Redis time
  ARGV[17] trustCallerTime "1" only in tests with an injected clock: atMs is the time, unchecked

  Returns
   {1, nowMs, unspent}               issued; unspent = what the shard has left after it
   {2, code}                         replay of a remembered claim (the caller reads the record)
   {-1} ledger missing   {-2} fingerprint mismatch   {-3, nowMs} atMs ahead of Redis time
   {-4, nowMs} atMs too far behind   {-5, nowMs} not started   {-6, nowMs} ended
   {-7, nowMs} released budget gone (a later release may help)   {-8} shard pool gone
   {-9, nowMs} user's daily limit   {-10} user's campaign limit   {-11} key reused, other body
   {-12} code collision (the caller retries with a new code)
]]
local atMs = tonumber(ARGV[1])
local now = atMs
if ARGV[17] ~= '1' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  -- A cap computed for a moment Redis has not reached would open a release early.
  if atMs > now then return {-3, now} end
  if now - atMs > tonumber(ARGV[16]) then return {-4, now} end
end

local ledger = redis.call('HMGET', KEYS[1], 'fingerprint', 'shardPoolCoupons', 'issued', 'adj')
if not ledger[1] then return {-1} end
if ledger[1] ~= ARGV[9] then return {-2} end

local remembered = redis.call('GET', KEYS[3])
if remembered then
  local sep = string.find(remembered, '\n', 1, true)
  local code = string.sub(remembered, 1, sep - 1)
  if string.sub(remembered, sep + 1) ~= ARGV[14] then return {-11} end
  return {2, code}
end

if now < tonumber(ARGV[7]) then return {-5, now} end
if now > tonumber(ARGV[8]) then return {-6, now} end

local day = ARGV[4]
local issued = tonumber(ledger[3] or '0')
if issued >= tonumber(ledger[2]) then return {-8} end
local spent, adjustment
if ARGV[3] == 'day' then
  local perDay = redis.call('HMGET', KEYS[1], 'day:' .. day, 'adj:' .. day)
  spent = tonumber(perDay[1] or '0')
  adjustment = tonumber(perDay[2] or '0')
else
  spent = issued
  adjustment = tonumber(ledger[4] or '0')
end
local unspent = tonumber(ARGV[2]) + adjustment - spent
if unspent <= 0 then return {-7, now} end

local user = redis.call('HMGET', KEYS[2], 'total', 'd:' .. day)
if tonumber(user[1] or '0') >= tonumber(ARGV[6]) then return {-10} end
if tonumber(user[2] or '0') >= tonumber(ARGV[5]) then return {-9, now} end

if redis.call('EXISTS', KEYS[4]) == 1 then return {-12} end

-- All checks passed: debit, record, remember, audit.
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('HINCRBY', KEYS[1], 'day:' .. day, 1)
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], 'd:' .. day, 1)
redis.call('HSET', KEYS[4], 'code', ARGV[10], 'userId', ARGV[11], 'valueFen', ARGV[12],
  'issuedAt', now, 'expiresAt', ARGV[13], 'trancheDay', day, 'status', 'issued')
redis.call('SET', KEYS[3], ARGV[10] .. '\n' .. ARGV[14])
-- Records live until after the coupon's expiry (a keep-until already past, as for a campaign
-- replayed in tests, keeps them): the wall clock here is Redis's, whatever the caller's time.
local wall = redis.call('TIME')
if tonumber(ARGV[15]) > tonumber(wall[1]) * 1000 then
  redis.call('PEXPIREAT', KEYS[2], ARGV[15])
  redis.call('PEXPIREAT', KEYS[3], ARGV[15])
  redis.call('PEXPIREAT', KEYS[4], ARGV[15])
end
redis.call('XADD', KEYS[5], '*', 'type', 'issued', 'code', ARGV[10], 'userId', ARGV[11],
  'valueFen', ARGV[12], 'day', day, 'at', now)
return {1, now, unspent - 1}
