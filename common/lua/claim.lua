-- A worker claims a command: gen must match, the transition must still be pending, and the
-- instance lease must be free or already ours. Returns what the worker needs to run it.
-- KEYS: instance, lease (keys.h: one slot)
-- ARGV: prefix, id, gen, worker, lease_ms
local p, id, gen, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'gen', 'p_gen', 'status', 'info', 'servers', 'name', 'p_action', 'mode')
if not cur[1] then return {'gone'} end
if cur[1] ~= gen or cur[2] ~= gen then return {'stale'} end
local lease_key = KEYS[2]
-- Take the lease if it is free, and learn the holder otherwise, in one call.
local holder = redis.call('SET', lease_key, worker, 'PX', ARGV[5], 'NX', 'GET')
if holder and holder ~= worker then return {'busy', holder} end
if holder then redis.call('PEXPIRE', lease_key, ARGV[5]) end  -- ours already: extend it
-- The command reached a worker, so its publish happened: the admission stands (see admit.lua).
redis.call('HSET', key, 'claimed_by', worker, 'p_conf', 1)
return {'ok', tonumber(cur[3]), cur[4], cur[5], cur[6], cur[7], cur[8] or 'running'}
