-- The shim confirms admissions whose commands the broker confirmed, before it answers 202: from
-- here on the reconciler republishes them if need be (an unconfirmed one it undoes instead).
-- Per id: 'confirmed' (marked now, or claimed by a worker already), 'superseded' (a newer
-- admission replaced it: it was accepted, then overtaken), or 'undone' (the reconciler undid it
-- as unconfirmed before this confirm came: the answer must be 503).
-- KEYS: instance1, instance2, ... (on Redis Cluster one id per call)
-- ARGV: prefix, token, id1, gen1, id2, gen2, ...
local p, token = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV, 2 do
  local key = KEYS[(i - 1) / 2]
  local cur = redis.call('HMGET', key, 'p_tok', 'p_gen', 'p_conf', 'p_undone', 'id')
  if not cur[5] or cur[4] == token then
    out[#out + 1] = 'undone'  -- an undone create leaves no instance behind
  elseif cur[1] == token and cur[2] == ARGV[i + 1] then
    if cur[3] == '0' then redis.call('HSET', key, 'p_conf', '1') end
    out[#out + 1] = 'confirmed'
  else
    out[#out + 1] = 'superseded'
  end
end
return out
