-- Undoes unconfirmed admissions by the token they were made under: the shim's, before it answers
-- 503 (the broker did not confirm), or the reconciler's for one left unconfirmed past its
-- deadline (the shim died, or answered 503 after losing Redis's reply to its admission). The
-- token is server-made, so no client-chosen id can undo anyone else's admission.
-- Per id: 'undone' (the status is back, gen moves on so a late copy of the command is stale),
-- 'confirmed' (a worker claimed it, or the shim confirmed it: it stands and will run), or
-- 'absent' (no admission under this token and gen: it never happened, or is gone already).
-- A gen of '' matches whatever admission is current under the token: the shim lost the reply
-- to its admission and never learnt the gen (the token alone is unique to that request).
-- An undone create answers {'undone', owner, seq}: its tenant index entries are in another slot,
-- so the caller removes them.
-- KEYS: instance1, history1, outbox bucket1, instance2, ... (on Redis Cluster one id per call)
-- ARGV: prefix, token, now_ms, now_rfc3339, history_max, note, id1, gen1, id2, gen2, ...
local p, token = ARGV[1], ARGV[2]
local out = {}
for i = 7, #ARGV, 2 do
  local id, gen = ARGV[i], ARGV[i + 1]
  local k = (i - 7) / 2 * 3
  local key, hkey, pkey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local cur = redis.call('HMGET', key, 'gen', 'p_gen', 'p_prev', 'owner', 'p_tok', 'p_conf')
  if cur[5] ~= token or not cur[2] or cur[1] ~= cur[2] or (gen ~= '' and cur[2] ~= gen) then
    out[#out + 1] = 'absent'
  elseif cur[6] ~= '0' then
    out[#out + 1] = 'confirmed'
  elseif cur[3] == '-1' then
    -- An undone create leaves nothing behind: the client got a 503, not an id.
    local seq = redis.call('HGET', key, 'seq')
    redis.call('DEL', key, hkey)
    redis.call('ZREM', pkey, id)
    out[#out + 1] = {'undone', cur[4], seq or ''}
  else
    local next_gen = redis.call('HINCRBY', key, 'gen', 1)
    redis.call('HSET', key, 'status', cur[3], 'updated_at', ARGV[4], 'p_undone', token)
    local was = redis.call('HMGET', key, 'p_action', 'c_action', 'c_req', 'c_since')
    if was[1] == 'cancel' and was[2] and was[2] ~= '' then
      -- An undone cancel (admit_cancel.lua): the command it superseded was interrupted already,
      -- so it is pending again, confirmed, under the new gen; the reconciler republishes it.
      redis.call('HSET', key, 'p_action', was[2], 'p_gen', next_gen, 'p_req', was[3], 'p_at', ARGV[3],
        'p_since', was[4] ~= '' and was[4] or ARGV[3], 'p_prev', cur[3], 'p_attempt', '1', 'p_conf', '1')
      redis.call('HDEL', key, 'p_tok', 'claimed_by')
      redis.call('ZADD', pkey, ARGV[3], id)
    else
      redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt',
        'p_tok', 'p_conf')
      redis.call('ZREM', pkey, id)
    end
    local eid = redis.call('XADD', hkey, 'MAXLEN', '~', ARGV[5], '*', 'status', cur[3], 'gen', next_gen,
      'request_id', '', 'worker', '', 'at', ARGV[3], 'note', ARGV[6])
    redis.call('PUBLISH', p .. 'events', id .. ' ' .. cur[3] .. ' ' .. next_gen .. ' ' .. eid .. ' ' .. (cur[4] or ''))
    out[#out + 1] = 'undone'
  end
end
return out
