-- Extends a worker's lease while a step runs, and tells whether its command still holds:
-- 1 when it does; 0 when the lease is no longer ours or gen moved on (superseded). A
-- superseded holder releases the lease at once, so the newer command need not wait it out.
-- A lease that ran out but that no other worker took since is still ours (a claim is what
-- takes it over), as the status writes also hold.
-- KEYS: instance (keys.h)
-- ARGV: prefix, id, worker, lease_ms, gen
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'lease_by', 'gen')
if cur[1] ~= ARGV[3] then return 0 end
if cur[2] ~= ARGV[5] then
  redis.call('HDEL', key, 'lease_by', 'lease_until')
  return 0
end
local t = redis.call('TIME')
redis.call('HSET', key, 'lease_until', t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[4]))
return 1
