-- Extends a worker's lease on an instance while a long step runs; 0 when it is no longer ours.
-- ARGV: prefix, id, worker, lease_ms
local lease_key = ARGV[1] .. 'lease:' .. ARGV[2]
if redis.call('GET', lease_key) ~= ARGV[3] then return 0 end
redis.call('PEXPIRE', lease_key, ARGV[4])
return 1
