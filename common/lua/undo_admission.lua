-- Undoes an admission whose command the broker did not confirm, only if gen is unchanged.
-- gen moves on anyway, so a late copy of the unconfirmed command is stale when it arrives.
-- With gen '' it undoes the admission made by request_id instead: the shim lost Redis's reply to
-- an admission (outcome unknown), answered 503, and must make that answer true.
-- ARGV: prefix, id, gen, now_ms, now_rfc3339, history_max, [request_id]
local p, id, gen = ARGV[1], ARGV[2], ARGV[3]
local key = p .. 'i:' .. id
local cur = redis.call('HMGET', key, 'gen', 'p_gen', 'p_prev', 'owner', 'p_req')
if gen == '' then
  if not cur[5] or cur[5] ~= ARGV[7] then return 0 end
  gen = cur[1]
end
if not cur[1] or cur[1] ~= gen or cur[2] ~= gen then return 0 end
if cur[3] == '-1' then
  -- An undone create leaves nothing behind: the client got a 503, not an id.
  local seq = redis.call('HGET', key, 'seq')
  if seq then redis.call('HDEL', p .. 'seqs', seq) end
  redis.call('DEL', key, p .. 'h:' .. id, p .. 'lease:' .. id)
  redis.call('ZREM', p .. 't:' .. cur[4] .. ':ids', id)
  redis.call('SREM', p .. 't:' .. cur[4] .. ':live', id)
  redis.call('ZREM', p .. 'pending', id)
  return 1
end
local next_gen = redis.call('HINCRBY', key, 'gen', 1)
redis.call('HSET', key, 'status', cur[3], 'updated_at', ARGV[5])
redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt')
redis.call('ZREM', p .. 'pending', id)
redis.call('XADD', p .. 'h:' .. id, 'MAXLEN', '~', ARGV[6], '*', 'status', cur[3], 'gen', next_gen,
  'request_id', '', 'worker', '', 'at', ARGV[4], 'note', 'admission undone')
redis.call('PUBLISH', p .. 'events', id .. ' ' .. cur[3] .. ' ' .. next_gen)
return 1
