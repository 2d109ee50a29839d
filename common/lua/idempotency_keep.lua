-- Keeps a done Idempotency-Key record (SPEC §4.4) and bounds its tenant's records (SPEC §8): at
-- most max_records of them and max_bytes charged in all (each record's length plus a fixed
-- overhead); beyond either, the oldest kept are dropped first, at most 64 per call. A record
-- that expired by itself leaves the index here (at most 100 per call).
-- KEYS: record, index (ZSET member -> ms kept), bytes (HASH member -> bytes charged, '#' -> sum)
--       (keys.h: all tagged by the tenant, one slot)
-- ARGV: record, member (the key's hash), keep_ms, max_records, max_bytes, overhead_bytes,
--       record key prefix (the record of member m is prefix .. m, in the same slot)
-- Returns the number of records dropped to make room.
local keep = tonumber(ARGV[3])
local max_records = tonumber(ARGV[4])
local max_bytes = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = #ARGV[1] + tonumber(ARGV[6])
-- The record first: on a full Redis (maxmemory, noeviction) the first write is refused and the
-- script has changed nothing.
redis.call('SET', KEYS[1], ARGV[1], 'PX', keep)
local total = tonumber(redis.call('HGET', KEYS[3], '#') or '0')
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - keep, 'LIMIT', 0, 100)
for _, m in ipairs(gone) do
  total = total - tonumber(redis.call('HGET', KEYS[3], m) or '0')
  redis.call('HDEL', KEYS[3], m)
  redis.call('ZREM', KEYS[2], m)
end
local member = ARGV[2]
local before = redis.call('HGET', KEYS[3], member)
if before then total = total - tonumber(before) end
redis.call('ZADD', KEYS[2], now, member)
redis.call('HSET', KEYS[3], member, cost)
total = total + cost
local dropped = 0
while dropped < 64 do
  local count = redis.call('ZCARD', KEYS[2])
  if count <= 1 or (count <= max_records and total <= max_bytes) then break end
  -- The oldest but the one kept now (which may tie with others kept in the same millisecond).
  local two = redis.call('ZRANGE', KEYS[2], 0, 1)
  local m = two[1]
  if m == member then m = two[2] end
  redis.call('ZREM', KEYS[2], m)
  total = total - tonumber(redis.call('HGET', KEYS[3], m) or '0')
  redis.call('HDEL', KEYS[3], m)
  redis.call('DEL', ARGV[7] .. m)
  dropped = dropped + 1
end
redis.call('HSET', KEYS[3], '#', total)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
return dropped
