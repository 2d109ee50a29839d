-- The reconciler's pass over the outbox (one worker at a time holds the reconciler lease).
-- For each instance whose pending command is older than the republish deadline and that no
-- worker holds a lease on, the command is handed back for republishing (p_at moves on, so it
-- backs off). An instance pending past the hard timeout is failed with a clear message; its gen
-- moves on so any late worker is fenced off.
-- An unconfirmed admission (p_conf 0: its shim never confirmed it and no worker claimed it) is
-- never republished: its shim answered 503, or died before it could answer. Once older than
-- unconfirmed_after_ms it is handed back to be undone by its token (undo_admission.lua).
-- ARGV: prefix, now_ms, now_rfc3339, republish_after_ms, create_timeout_ms, action_timeout_ms,
--       create_failures (",2:11,10:13,...," current status -> failure status), history_max, limit,
--       worker, leader_lease_ms, unconfirmed_after_ms
-- Returns {-1} when another worker holds the reconciler lease, else
-- {n_failed, n_undo, undo_id1, token1, gen1, ..., id1, action1, gen1, request_id1, attempt1,
-- id2, ...}: the unconfirmed admissions to undo, then the commands to republish.
local p, now = ARGV[1], tonumber(ARGV[2])
local leader_key = p .. 'reconciler'
if redis.call('GET', leader_key) == ARGV[10] then
  redis.call('PEXPIRE', leader_key, ARGV[11])
elseif not redis.call('SET', leader_key, ARGV[10], 'NX', 'PX', ARGV[11]) then
  return {-1}
end
local republish_after = tonumber(ARGV[4])
local unconfirmed_after = tonumber(ARGV[12])
local out = {0, 0}
local undo = {}
local ids = redis.call('ZRANGEBYSCORE', p .. 'pending', '-inf', now - republish_after, 'LIMIT', 0, tonumber(ARGV[9]))
for _, id in ipairs(ids) do
  local key = p .. 'i:' .. id
  local f = redis.call('HMGET', key, 'p_action', 'p_gen', 'p_req', 'p_since', 'gen', 'status', 'p_attempt', 'owner', 'p_conf', 'p_tok')
  if not f[1] or f[2] ~= f[5] then
    redis.call('ZREM', p .. 'pending', id)  -- nothing pending any more (or a stale index entry)
  elseif f[9] == '0' then
    local since = tonumber(f[4])
    if now - since <= unconfirmed_after then
      -- Not due yet: look again when it is, so it does not hold the scan window meanwhile.
      redis.call('ZADD', p .. 'pending', since + unconfirmed_after - republish_after + 1, id)
    else
      -- Due: handed back to be undone by its token (undo_admission.lua, which a claim since
      -- this pass still wins). Looked at again after the republish delay if that fails.
      redis.call('ZADD', p .. 'pending', now, id)
      undo[#undo + 1] = id
      undo[#undo + 1] = f[10] or ''
      undo[#undo + 1] = f[2]
    end
  else
    local timeout = tonumber(f[1] == 'create' and ARGV[5] or ARGV[6])
    if now - tonumber(f[4]) > timeout then
      local failed = S_FAILED
      if f[1] == 'create' then
        local m = string.match(ARGV[7], ',' .. f[6] .. ':(%d+),')
        if m then failed = m end
      end
      local gen = redis.call('HINCRBY', key, 'gen', 1)
      local msg = f[1] .. ' timed out after ' .. math.floor(timeout / 1000) .. ' s (reconciler): no worker finished it'
      redis.call('HSET', key, 'status', failed, 'failure_message', msg, 'updated_at', ARGV[3])
      redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt', 'p_tok', 'p_conf', 'claimed_by')
      redis.call('DEL', p .. 'lease:' .. id)
      redis.call('ZREM', p .. 'pending', id)
      redis.call('XADD', p .. 'h:' .. id, 'MAXLEN', '~', ARGV[8], '*', 'status', failed, 'gen', gen,
        'request_id', f[3], 'worker', 'reconciler', 'at', ARGV[2], 'note', msg)
      redis.call('PUBLISH', p .. 'events', id .. ' ' .. failed .. ' ' .. gen)
      out[1] = out[1] + 1
    elseif redis.call('EXISTS', p .. 'lease:' .. id) == 0 then
      local attempt = redis.call('HINCRBY', key, 'p_attempt', 1)
      redis.call('HSET', key, 'p_at', ARGV[2])
      redis.call('ZADD', p .. 'pending', now, id)
      out[#out + 1] = id
      out[#out + 1] = f[1]
      out[#out + 1] = tonumber(f[2])
      out[#out + 1] = f[3]
      out[#out + 1] = attempt
    end
  end
end
out[2] = #undo / 3
local all = {out[1], out[2]}
for _, v in ipairs(undo) do all[#all + 1] = v end
for i = 3, #out do all[#all + 1] = out[i] end
return all
