--[[
  Rebalancing, step 2 of 2: credits a poorer shard with budget that takeRelease-2.lua took from
  a richer one. Idempotent per transfer id, so a transfer can be completed again after a crash.

  KEYS[1] ledger  HASH  adj / adj:<day>, xin:<id> = "<source>:<coupons>:<scopeField>"
  KEYS[2] audit   STREAM

  ARGV[1] transferId
  ARGV[2] coupons
  ARGV[3] scopeField   "adj" or "adj:<day>", as the source recorded it
  ARGV[4] source       the giving shard

  Returns {1} given   {3} given already   {-1} ledger missing
]]
if redis.call('HEXISTS', KEYS[1], 'fingerprint') == 0 then return {-1} end
if redis.call('HEXISTS', KEYS[1], 'xin:' .. ARGV[1]) == 1 then return {3} end
redis.call('HINCRBY', KEYS[1], ARGV[3], tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'xin:' .. ARGV[1], ARGV[4] .. ':' .. ARGV[2] .. ':' .. ARGV[3])
redis.call('XADD', KEYS[2], '*', 'type', 'rebalance-in', 'transfer', ARGV[1], 'coupons', ARGV[2],
  'source', ARGV[4], 'field', ARGV[3])
return {1}
