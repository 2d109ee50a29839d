-- A worker's first look at a delivered command, before it holds it for a free slot (fair
-- dispatch, SPEC §5): whose it is, and whether it is still the instance's pending command. It
-- takes no lease. While the command is current it moves the outbox entry's due time on to
-- `seen_ms` (never back), so the reconciler does not republish a command a worker holds, or
-- one it has just handed to the delayed-retry queue.
-- KEYS: instance, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, gen, seen_ms (0: move nothing)
-- Returns {'gone'}, {'stale'} or {'ok', owner}.
local cur = redis.call('HMGET', KEYS[1], 'gen', 'p_gen', 'owner')
if not cur[1] then return {'gone'} end
if cur[1] ~= ARGV[3] or cur[2] ~= ARGV[3] then return {'stale'} end
if tonumber(ARGV[4]) > 0 then redis.call('ZADD', KEYS[2], 'XX', 'GT', ARGV[4], ARGV[2]) end
return {'ok', cur[3] or ''}
