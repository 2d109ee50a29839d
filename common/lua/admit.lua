-- Admits start/stop/destroy atomically: existence, tenant, the guard, gen+1, the outbox.
-- The allowed-from set comes from the C++ status table (domain::AllowedFrom) or a dialect's
-- rule built from it, never copied here.
-- The admission is unconfirmed (p_conf 0) under the shim's token until the shim confirms it
-- (confirm.lua, after the broker's confirm) or a worker claims it; an unconfirmed one is never
-- republished, and the shim or the reconciler undoes it by its token (undo_admission.lua).
-- KEYS: instance, history, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, tenant, action, transitional_code, allowed (",1,9,"), request_id, now_ms,
--       now_rfc3339, history_max, mode ('' = leave as is; running|paused|standby), token,
--       then who admitted it (SPEC §4.5 Audit, optional): key_id, key_name, client, dialect
local p, id, tenant = ARGV[1], ARGV[2], ARGV[3]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'owner', 'status', 'gen')
if not cur[1] or cur[1] ~= tenant then return {'notfound'} end
local status = cur[2]
if not string.find(ARGV[6], ',' .. status .. ',', 1, true) then return {'refused', tonumber(status)} end
-- One HSET for the whole transition (gen+1 included): each redis.call costs as much again as
-- the little work most of them do. Every argument is a string already: Redis turns a Lua number
-- into one with printf each time it is passed (measured: ~0.3 us each).
local gen = tostring((tonumber(cur[3]) or 0) + 1)
local fields = {'status', ARGV[5], 'failure_message', '', 'updated_at', ARGV[9], 'gen', gen,
  'p_action', ARGV[4], 'p_gen', gen, 'p_req', ARGV[7], 'p_at', ARGV[8], 'p_since', ARGV[8], 'p_prev', status,
  'p_attempt', '1', 'p_tok', ARGV[12], 'p_conf', '0'}
if ARGV[11] and ARGV[11] ~= '' then
  fields[#fields + 1] = 'mode'
  fields[#fields + 1] = ARGV[11]
end
redis.call('HSET', key, unpack(fields))
redis.call('ZADD', KEYS[3], ARGV[8], id)
local entry = {'status', ARGV[5], 'gen', gen, 'request_id', ARGV[7], 'worker', '', 'at', ARGV[8]}
if ARGV[13] and ARGV[13] ~= '' then
  entry[#entry + 1] = 'key_id'; entry[#entry + 1] = ARGV[13]
  entry[#entry + 1] = 'key_name'; entry[#entry + 1] = ARGV[14]
  entry[#entry + 1] = 'client'; entry[#entry + 1] = ARGV[15]
  entry[#entry + 1] = 'dialect'; entry[#entry + 1] = ARGV[16]
end
local eid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[10], '*', unpack(entry))
redis.call('PUBLISH', p .. 'events', id .. ' ' .. ARGV[5] .. ' ' .. gen .. ' ' .. eid .. ' ' .. tenant)
return {'ok', tonumber(gen), tonumber(status)}
