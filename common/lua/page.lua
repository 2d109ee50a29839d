-- One consistent page of a sorted index: its size and the members from start to stop.
-- KEYS: the index (a tenant's ids or live ids)
-- ARGV: start, stop (ZRANGE indexes; stop -1 = to the end)
-- Returns {total, member1, member2, ...}
local out = {redis.call('ZCARD', KEYS[1])}
local start, stop = tonumber(ARGV[1]), tonumber(ARGV[2])
if stop >= 0 and stop < start then return out end
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], start, stop)) do out[#out + 1] = m end
return out
