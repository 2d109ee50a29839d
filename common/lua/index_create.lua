-- Indexes a create under its tenant before the instance is made (admit_create.lua runs next, in
-- the instance's own slot): an entry whose instance never came is skipped by every reader, while
-- an instance missing from its index could not be listed at all.
-- KEYS: the tenant's ids, the tenant's live ids (keys.h: one slot)
-- ARGV: seq, id
-- Returns 1 when indexed now, 0 when the id was indexed already (it is not this create's to undo).
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
