-- One worker at a time reconciles: it takes the lease when free and extends it while it holds it.
-- KEYS: the reconciler lease
-- ARGV: worker, lease_ms
-- Returns 1 when this worker holds the lease now, 0 when another does.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
