-- A worker hands its command to the delayed-retry queue after a transient provider error. It
-- gives the instance lease back (if still its own), so whichever worker gets the retried command
-- can claim it, and moves the outbox entry to when the retry is due, so the reconciler does not
-- republish a command that is only waiting out its back-off.
-- KEYS: instance, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, worker, gen, due_ms (unix ms)
-- Returns 1 while the command is still the instance's pending one, 0 once it was superseded.
local p, id = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', KEYS[1], 'lease_by', 'p_gen')
if cur[1] == ARGV[3] then redis.call('HDEL', KEYS[1], 'lease_by', 'lease_until') end
if cur[2] ~= ARGV[4] then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[5], id)
return 1
