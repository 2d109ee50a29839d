-- Writes one status change, fenced by gen and by the worker's lease; appends it to the
-- history stream and publishes it. A final write clears the outbox and releases the lease.
-- ARGV: prefix, id, gen, worker, status_code, failure_message, servers_json ('' = unchanged),
--       final ('1'|'0'), now_ms, now_rfc3339, request_id, lease_ms, master_node_id ('' = unchanged),
--       history_max
local p, id, gen, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p .. 'i:' .. id
local cur = redis.call('HMGET', key, 'gen', 'owner')
if not cur[1] then return 'gone' end
if cur[1] ~= gen then
  -- Superseded (our gen is older): give the lease up so the newer command runs at once.
  if tonumber(gen) < tonumber(cur[1]) and redis.call('GET', p .. 'lease:' .. id) == worker then
    redis.call('DEL', p .. 'lease:' .. id)
  end
  return 'stale'
end
local lease_key = p .. 'lease:' .. id
if redis.call('GET', lease_key) ~= worker then return 'lost' end
local fields = {'status', ARGV[5], 'failure_message', ARGV[6], 'updated_at', ARGV[10]}
if ARGV[7] ~= '' then
  fields[#fields + 1] = 'servers'
  fields[#fields + 1] = ARGV[7]
end
if ARGV[13] ~= '' then
  fields[#fields + 1] = 'master_node_id'
  fields[#fields + 1] = ARGV[13]
end
redis.call('HSET', key, unpack(fields))
redis.call('XADD', p .. 'h:' .. id, 'MAXLEN', '~', ARGV[14], '*', 'status', ARGV[5], 'gen', gen,
  'request_id', ARGV[11], 'worker', worker, 'at', ARGV[9])
redis.call('PUBLISH', p .. 'events', id .. ' ' .. ARGV[5] .. ' ' .. gen)
if ARGV[8] == '1' then
  redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt', 'p_tok', 'p_conf', 'claimed_by')
  redis.call('ZREM', p .. 'pending', id)
  redis.call('DEL', lease_key)
  if ARGV[5] == S_DESTROYED then redis.call('SREM', p .. 't:' .. cur[2] .. ':live', id) end
else
  redis.call('PEXPIRE', lease_key, ARGV[12])
end
return 'ok'
