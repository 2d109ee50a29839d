-- One round trip for a page of a tenant's instances in creation order.
-- ARGV: prefix, tenant, start, stop (ZRANGE indexes; stop -1 = to the end)
-- Returns {total, id1, name1, status1, failure1, seq1, id2, ...}
local p, tenant = ARGV[1], ARGV[2]
local zkey = p .. 't:' .. tenant .. ':ids'
local total = redis.call('ZCARD', zkey)
local out = {total}
if tonumber(ARGV[4]) >= 0 and tonumber(ARGV[4]) < tonumber(ARGV[3]) then return out end
local ids = redis.call('ZRANGE', zkey, ARGV[3], ARGV[4])
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', p .. 'i:' .. id, 'name', 'status', 'failure_message', 'seq')
  out[#out + 1] = id
  out[#out + 1] = f[1] or ''
  out[#out + 1] = f[2] or S_PENDING
  out[#out + 1] = f[3] or ''
  out[#out + 1] = f[4] or '0'
end
return out
