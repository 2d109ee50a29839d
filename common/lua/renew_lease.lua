-- Extends a worker's lease while a step runs, and tells whether its command still holds:
-- 1 when it does; 0 when the lease is no longer ours or gen moved on (superseded). A
-- superseded holder releases the lease at once, so the newer command need not wait it out.
-- KEYS: lease, instance (keys.h: one slot)
-- ARGV: prefix, id, worker, lease_ms, gen
local lease_key = KEYS[1]
if redis.call('GET', lease_key) ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[2], 'gen') ~= ARGV[5] then
  redis.call('DEL', lease_key)
  return 0
end
redis.call('PEXPIRE', lease_key, ARGV[4])
return 1
