-- A worker claims a command: gen must match, the transition must still be pending, and the
-- instance lease must be free, run out, or already ours. Returns what the worker needs to run it.
-- The lease is two fields of the instance hash (lease_by, lease_until in Redis's own clock, ms):
-- no key of its own to create, expire and delete per command.
-- KEYS: instance (keys.h)
-- ARGV: prefix, id, gen, worker, lease_ms
local p, id, gen, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'gen', 'p_gen', 'status', 'info', 'servers', 'name', 'p_action',
  'mode', 'lease_by', 'lease_until')
if not cur[1] then return {'gone'} end
if cur[1] ~= gen or cur[2] ~= gen then return {'stale'} end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if cur[9] and cur[9] ~= worker and (tonumber(cur[10]) or 0) > now then return {'busy', cur[9]} end
-- The command reached a worker, so its publish happened: the admission stands (see admit.lua).
redis.call('HSET', key, 'claimed_by', worker, 'p_conf', '1', 'lease_by', worker,
  'lease_until', now + tonumber(ARGV[5]))
return {'ok', tonumber(cur[3]), cur[4], cur[5], cur[6], cur[7], cur[8] or 'running'}
