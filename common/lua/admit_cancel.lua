-- Admits a cancel (SPEC §4.5) atomically: existence, tenant, the instance transitional and not
-- being cancelled already, gen+1 (so the running job is superseded and its step interrupted),
-- and the outbox entry of the rollback, all as admit.lua does for the other actions.
-- Where it goes comes from the C++ status table (domain::CancelTo), never copied here: `moves`
-- lists ",from:to," pairs (",2:5,3:4,4:3,…"); `to` is the transitional status the rollback
-- runs under (DESTROYING for a create, STOPPING for a start, STARTING for a stop), and the
-- worker's plan for a cancel follows from it. The pending command's action is 'cancel': the
-- final write of its rollback carries "reason":"cancelled" in the history, as this entry does.
-- The superseded command is kept (c_action, c_req, c_since): an undone cancel (its 503 means
-- nothing changed) makes it pending again, since its job was interrupted already.
-- KEYS: instance, history, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, tenant, moves, request_id, now_ms, now_rfc3339, history_max, token,
--       then who admitted it (SPEC §4.5 Audit, optional): key_id, key_name, client, dialect
local p, id, tenant = ARGV[1], ARGV[2], ARGV[3]
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'owner', 'status', 'gen', 'p_action', 'p_req', 'p_since')
if not cur[1] or cur[1] ~= tenant then return {'notfound'} end
local status = cur[2]
-- A rollback in progress is not cancelled again (that would undo the cancel).
if cur[4] == 'cancel' then return {'refused', tonumber(status)} end
local _, e = string.find(ARGV[4], ',' .. status .. ':', 1, true)
if not e then return {'refused', tonumber(status)} end
local to = string.match(ARGV[4], '^(%d+),', e + 1)
if not to then return {'refused', tonumber(status)} end
local gen = tostring((tonumber(cur[3]) or 0) + 1)
redis.call('HSET', key, 'status', to, 'failure_message', '', 'updated_at', ARGV[7], 'gen', gen,
  'p_action', 'cancel', 'p_gen', gen, 'p_req', ARGV[5], 'p_at', ARGV[6], 'p_since', ARGV[6],
  'p_prev', status, 'p_attempt', '1', 'p_tok', ARGV[9], 'p_conf', '0',
  -- The command it supersedes, pending again if this admission is undone (undo_admission.lua).
  'c_action', cur[4] or '', 'c_req', cur[5] or '', 'c_since', cur[6] or '')
redis.call('ZADD', KEYS[3], ARGV[6], id)
local entry = {'status', to, 'gen', gen, 'request_id', ARGV[5], 'worker', '', 'at', ARGV[6],
  'reason', 'cancelled'}
if ARGV[10] and ARGV[10] ~= '' then
  entry[#entry + 1] = 'key_id'; entry[#entry + 1] = ARGV[10]
  entry[#entry + 1] = 'key_name'; entry[#entry + 1] = ARGV[11]
  entry[#entry + 1] = 'client'; entry[#entry + 1] = ARGV[12]
  entry[#entry + 1] = 'dialect'; entry[#entry + 1] = ARGV[13]
end
local eid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', unpack(entry))
redis.call('PUBLISH', p .. 'events', id .. ' ' .. to .. ' ' .. gen .. ' ' .. eid .. ' ' .. tenant)
return {'ok', tonumber(gen), tonumber(status)}
