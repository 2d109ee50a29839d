-- Admits a create: a new instance in PENDING with gen 1 and its pending command (the outbox).
-- Its seq comes from the caller, who took it from the counter and indexed it under the tenant
-- first (an index entry with no instance behind it is skipped by readers).
-- Unconfirmed under the shim's token until confirmed or claimed (see admit.lua).
-- KEYS: instance, history, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, tenant, name, info_json, request_id, now_ms, now_rfc3339, history_max, token,
--       seq, then who admitted it (SPEC §4.5 Audit, optional): key_id, key_name, client, dialect
local p, id, tenant = ARGV[1], ARGV[2], ARGV[3]
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return {'exists'} end
local seq = ARGV[11]
redis.call('HSET', key, 'id', id, 'seq', seq, 'name', ARGV[4], 'owner', tenant, 'info', ARGV[5],
  'servers', '[]', 'status', S_PENDING, 'failure_message', '', 'created_at', ARGV[8], 'updated_at', ARGV[8],
  'gen', '1', 'p_action', 'create', 'p_gen', '1', 'p_req', ARGV[6], 'p_at', ARGV[7], 'p_since', ARGV[7],
  'p_prev', '-1', 'p_attempt', '1', 'p_tok', ARGV[10], 'p_conf', '0')
redis.call('ZADD', KEYS[3], ARGV[7], id)
local entry = {'status', S_PENDING, 'gen', '1', 'request_id', ARGV[6], 'worker', '', 'at', ARGV[7]}
if ARGV[12] and ARGV[12] ~= '' then
  entry[#entry + 1] = 'key_id'; entry[#entry + 1] = ARGV[12]
  entry[#entry + 1] = 'key_name'; entry[#entry + 1] = ARGV[13]
  entry[#entry + 1] = 'client'; entry[#entry + 1] = ARGV[14]
  entry[#entry + 1] = 'dialect'; entry[#entry + 1] = ARGV[15]
end
local eid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', unpack(entry))
redis.call('PUBLISH', p .. 'events', id .. ' ' .. S_PENDING .. ' 1 ' .. eid .. ' ' .. tenant)
return {'ok', tonumber(seq)}
