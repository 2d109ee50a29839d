-- Records when an API key was last used, at most once a minute per key and shim (the shim
-- decides), never on the request's path. A revoked key (its hash deleted) is not written again.
-- KEYS: the key's hash (keys.h ApiKey)
-- ARGV: now_rfc3339
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_used', ARGV[1])
return 1
