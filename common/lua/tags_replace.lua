-- Replaces an instance's tags and moves its entries in the tenant's tag indexes, at once (SPEC
-- §4.5). The caller read the tags it expects to find (the keys of their index entries must be
-- KEYS, built in keys.h): if they changed since, nothing is written and the current tags are
-- answered, for the caller to try again with them.
-- KEYS: the tenant's ids, the tenant's tags hash, the n_old index keys of the expected tags, then
--       the index keys of the new tags (keys.h: one slot, the tenant's)
-- ARGV: id, expected tags' JSON ('' = none), new tags' JSON ('' = none), n_old
-- Returns {'ok'}, {'notfound'} (not in the tenant's index), {'changed', current JSON}.
local id = ARGV[1]
local seq = redis.call('ZSCORE', KEYS[1], id)
if not seq then return {'notfound'} end
local cur = redis.call('HGET', KEYS[2], id) or ''
if cur ~= ARGV[2] then return {'changed', cur} end
local n_old = tonumber(ARGV[4])
for i = 3, 2 + n_old do redis.call('ZREM', KEYS[i], id) end
for i = 3 + n_old, #KEYS do redis.call('ZADD', KEYS[i], seq, id) end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], id)
else
  redis.call('HSET', KEYS[2], id, ARGV[3])
end
return {'ok'}
