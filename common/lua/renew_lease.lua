-- Extends a worker's lease while a step runs, and tells whether its command still holds:
-- 1 when it does; 0 when the lease is no longer ours or gen moved on (superseded). A
-- superseded holder releases the lease at once, so the newer command need not wait it out.
-- ARGV: prefix, id, worker, lease_ms, gen
local lease_key = ARGV[1] .. 'lease:' .. ARGV[2]
if redis.call('GET', lease_key) ~= ARGV[3] then return 0 end
if redis.call('HGET', ARGV[1] .. 'i:' .. ARGV[2], 'gen') ~= ARGV[5] then
  redis.call('DEL', lease_key)
  return 0
end
redis.call('PEXPIRE', lease_key, ARGV[4])
return 1
