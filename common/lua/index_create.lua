-- Indexes a create under its tenant before the instance is made (admit_create.lua runs next, in
-- the instance's own slot): an entry whose instance never came is skipped by every reader, while
-- an instance missing from its index could not be listed at all.
-- The tenant's quota of live instances is checked here, in the step that counts them: the
-- limits hash's max_instances, or the shim's default (SPEC §3).
-- KEYS: the tenant's ids, the tenant's live ids, the tenant's limits, and with tags: the tenant's
--       tags hash and one tag index per tag (keys.h: one slot)
-- ARGV: seq, id, default max_instances ('-1': not checked, an operator's seed), tags' JSON
--       (absent or '': none); the tags are stored and indexed in this same step (SPEC §4.5)
-- Returns 1 when indexed now, 0 when the id was indexed already (it is not this create's to undo),
-- {'quota', max} when the tenant has max live instances already (nothing written).
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
local max = ARGV[3]
if max and max ~= '-1' then
  max = tonumber(redis.call('HGET', KEYS[3], 'max_instances')) or tonumber(max)
  if redis.call('ZCARD', KEYS[2]) >= max then return {'quota', max} end
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] and ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
  for i = 5, #KEYS do redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2]) end
end
return 1
