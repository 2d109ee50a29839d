-- Writes one status change, fenced by gen and by the worker's lease; appends it to the
-- history stream and publishes it. A final write clears the outbox and releases the lease; any
-- other extends it. The fence is who holds the lease (lease_by): only a claim takes a lease
-- over, and only once it ran out, so a holder whose lease ran out unclaimed still writes.
-- Publishes '<id> <status> <gen> <history entry id> <owner>' (api-shim watch/events.h).
-- ARGV: prefix, id, gen, worker, status_code, failure_message, servers_json ('' = unchanged),
--       final ('1'|'0'), now_ms, now_rfc3339, request_id, lease_ms, master_node_id ('' = unchanged),
--       history_max, mode ('' = unchanged; the Feldera run mode a pause or resume ends in)
-- KEYS: instance, history, outbox bucket (keys.h: one slot)
-- A final DESTROYED leaves the tenant's live index to the caller (another slot): 'ok' is
-- answered as {'ok', owner} then.
local p, id, gen, worker = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'gen', 'owner', 'lease_by', 'p_action')
if not cur[1] then return 'gone' end
if cur[1] ~= gen then
  -- Superseded (our gen is older): give the lease up so the newer command runs at once.
  if tonumber(gen) < tonumber(cur[1]) and cur[3] == worker then
    redis.call('HDEL', key, 'lease_by', 'lease_until')
  end
  return 'stale'
end
if cur[3] ~= worker then return 'lost' end
local fields = {'status', ARGV[5], 'failure_message', ARGV[6], 'updated_at', ARGV[10]}
if ARGV[7] ~= '' then
  fields[#fields + 1] = 'servers'
  fields[#fields + 1] = ARGV[7]
end
if ARGV[13] ~= '' then
  fields[#fields + 1] = 'master_node_id'
  fields[#fields + 1] = ARGV[13]
end
if ARGV[15] and ARGV[15] ~= '' then
  fields[#fields + 1] = 'mode'
  fields[#fields + 1] = ARGV[15]
end
if ARGV[8] ~= '1' then
  local t = redis.call('TIME')
  fields[#fields + 1] = 'lease_until'
  fields[#fields + 1] = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[12])
end
redis.call('HSET', key, unpack(fields))
local entry = {'status', ARGV[5], 'gen', gen, 'request_id', ARGV[11], 'worker', worker, 'at', ARGV[9]}
-- The end of a cancel's rollback says why the instance is back where it was (SPEC §4.5).
if ARGV[8] == '1' and cur[4] == 'cancel' then
  entry[#entry + 1] = 'reason'
  entry[#entry + 1] = 'cancelled'
end
local eid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[14], '*', unpack(entry))
redis.call('PUBLISH', p .. 'events', id .. ' ' .. ARGV[5] .. ' ' .. gen .. ' ' .. eid .. ' ' .. (cur[2] or ''))
if ARGV[8] == '1' then
  redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt',
    'p_tok', 'p_conf', 'claimed_by', 'lease_by', 'lease_until')
  redis.call('ZREM', KEYS[3], id)
  if ARGV[5] == S_DESTROYED then return {'ok', cur[2]} end
end
return 'ok'
