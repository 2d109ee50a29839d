-- One page of a tenant's ids that are in every given index (a selector's tag indexes, and the
-- tenant's ids or live ids), in creation order (seq) after a cursor (SPEC §4.5). Read-only.
-- Smallest set first: the smallest index is walked from the cursor and each id is looked up
-- (ZSCORE, O(1)) in the others, so a page costs O(walked * (k - 1)) plus O(log n) per chunk
-- read, walking at most `budget` entries of the smallest index; the whole selection costs
-- O(|smallest| * k), whatever the tenant's or the store's size.
-- KEYS: the indexes (ZSETs id -> seq; keys.h: one slot, the tenant's)
-- ARGV: after (a seq, exclusive; '0' from the start), count (ids wanted), budget (entries walked)
-- Returns {next, id1, seq1, id2, seq2, ...}: next is the cursor to go on from, '' at the end.
local n = #KEYS
local order, sizes = {}, {}
for i = 1, n do
  order[i] = i
  sizes[i] = redis.call('ZCARD', KEYS[i])
end
table.sort(order, function(a, b) return sizes[a] < sizes[b] end)
local out = {''}
if n == 0 or sizes[order[1]] == 0 then return out end
local first = KEYS[order[1]]
local want, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local last = ARGV[1]
local walked = 0
while true do
  local chunk = redis.call('ZRANGE', first, '(' .. last, '+inf', 'BYSCORE', 'LIMIT', 0, 256,
    'WITHSCORES')
  if #chunk == 0 then return out end
  for j = 1, #chunk, 2 do
    local id = chunk[j]
    last = chunk[j + 1]
    walked = walked + 1
    local ok = true
    for k = 2, n do
      if not redis.call('ZSCORE', KEYS[order[k]], id) then
        ok = false
        break
      end
    end
    if ok then
      out[#out + 1] = id
      out[#out + 1] = last
    end
    if (#out - 1) / 2 >= want or walked >= budget then
      out[1] = last
      return out
    end
  end
  if #chunk < 512 then return out end
end
