-- The reconciler's look at one instance its outbox bucket says is due (the reconciler walks the
-- buckets; see keys.h). A pending command older than the republish deadline that no worker
-- holds a lease on is handed back for republishing (p_at moves on). It backs off per command:
-- the n-th republish is looked at again after 2^n deadlines (capped at 32), so a command that
-- waits in a backlog is not copied every deadline. What a worker holds or has deferred is not
-- due at all: the worker moves its bucket entry on (peek.lua) while it has it. One
-- pending past the hard timeout is failed with a clear message; its gen moves on so any late
-- worker is fenced off.
-- An unconfirmed admission (p_conf 0: its shim never confirmed it and no worker claimed it) is
-- never republished: its shim answered 503, or died before it could answer. Once older than
-- unconfirmed_after_ms it is handed back to be undone by its token (undo_admission.lua).
-- KEYS: instance, history, outbox bucket (keys.h: one slot)
-- ARGV: prefix, id, now_ms, now_rfc3339, republish_after_ms, create_timeout_ms,
--       action_timeout_ms, create_failures (",2:11,10:13,...," current status -> failure
--       status), history_max, unconfirmed_after_ms
-- Returns {'none'} (nothing due here), {'undo', token, gen}, {'failed'} or
-- {'republish', action, gen, request_id, attempt}.
local p, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local key, bucket = KEYS[1], KEYS[3]
local republish_after = tonumber(ARGV[5])
local unconfirmed_after = tonumber(ARGV[10])
local f = redis.call('HMGET', key, 'p_action', 'p_gen', 'p_req', 'p_since', 'gen', 'status', 'p_attempt',
  'owner', 'p_conf', 'p_tok', 'lease_by', 'lease_until')
if not f[1] or f[2] ~= f[5] then
  redis.call('ZREM', bucket, id)  -- nothing pending any more (or a stale index entry)
  return {'none'}
end
if f[9] == '0' then
  local since = tonumber(f[4])
  if now - since <= unconfirmed_after then
    -- Not due yet: look again when it is, so it does not hold the scan window meanwhile.
    redis.call('ZADD', bucket, since + unconfirmed_after - republish_after + 1, id)
    return {'none'}
  end
  -- Due: handed back to be undone by its token (undo_admission.lua, which a claim since this
  -- look still wins). Looked at again after the republish delay if that fails.
  redis.call('ZADD', bucket, now, id)
  return {'undo', f[10] or '', f[2]}
end
local timeout = tonumber(f[1] == 'create' and ARGV[6] or ARGV[7])
if now - tonumber(f[4]) > timeout then
  local failed = S_FAILED
  if f[1] == 'create' then
    local m = string.match(ARGV[8], ',' .. f[6] .. ':(%d+),')
    if m then failed = m end
  end
  local gen = redis.call('HINCRBY', key, 'gen', 1)
  local msg = f[1] .. ' timed out after ' .. math.floor(timeout / 1000) .. ' s (reconciler): no worker finished it'
  redis.call('HSET', key, 'status', failed, 'failure_message', msg, 'updated_at', ARGV[4])
  redis.call('HDEL', key, 'p_action', 'p_gen', 'p_req', 'p_at', 'p_since', 'p_prev', 'p_attempt',
    'p_tok', 'p_conf', 'claimed_by', 'lease_by', 'lease_until')
  redis.call('ZREM', bucket, id)
  local eid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'status', failed, 'gen', gen,
    'request_id', f[3], 'worker', 'reconciler', 'at', ARGV[3], 'note', msg)
  redis.call('PUBLISH', p .. 'events', id .. ' ' .. failed .. ' ' .. gen .. ' ' .. eid .. ' ' .. (f[8] or ''))
  return {'failed'}
end
if f[11] then
  -- A worker is on it while its lease lasts (Redis's clock, as the claim that set it).
  local t = redis.call('TIME')
  if (tonumber(f[12]) or 0) > t[1] * 1000 + math.floor(t[2] / 1000) then return {'none'} end
end
local attempt = redis.call('HINCRBY', key, 'p_attempt', 1)
redis.call('HSET', key, 'p_at', ARGV[3])
local backoff = 2 ^ math.min(attempt - 1, 5) - 1
redis.call('ZADD', bucket, now + math.floor(republish_after * backoff), id)
return {'republish', f[1], tonumber(f[2]), f[3], attempt}
