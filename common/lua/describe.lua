-- One page of (id, status) for a tenant, destroyed instances left out: the given ids, or all
-- of the tenant's in creation order. Returns {total, id1, status1, id2, status2, ...}.
-- ARGV: prefix, tenant, offset, page_size, [id1, id2, ...]
local p, tenant = ARGV[1], ARGV[2]
local offset, size = tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = {}
if #ARGV > 4 then
  for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', p .. 't:' .. tenant .. ':ids', 0, -1)
end
local total = 0
local out = {0}
for _, id in ipairs(ids) do
  local cur = redis.call('HMGET', p .. 'i:' .. id, 'owner', 'status')
  if cur[1] == tenant and cur[2] ~= S_DESTROYED then
    if total >= offset and total < offset + size then
      out[#out + 1] = id
      out[#out + 1] = tonumber(cur[2])
    end
    total = total + 1
  end
end
out[1] = total
return out
