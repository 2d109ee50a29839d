-- A worker hands its command to the delayed-retry queue after a transient provider error. It
-- gives the instance lease back (if still its own), so whichever worker gets the retried command
-- can claim it, and moves the outbox entry to when the retry is due, so the reconciler does not
-- republish a command that is only waiting out its back-off.
-- KEYS: lease, instance, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, worker, gen, due_ms (unix ms)
-- Returns 1 while the command is still the instance's pending one, 0 once it was superseded.
local p, id = ARGV[1], ARGV[2]
local lease_key = KEYS[1]
if redis.call('GET', lease_key) == ARGV[3] then redis.call('DEL', lease_key) end
if redis.call('HGET', KEYS[2], 'p_gen') ~= ARGV[4] then return 0 end
redis.call('ZADD', KEYS[3], 'XX', ARGV[5], id)
return 1
