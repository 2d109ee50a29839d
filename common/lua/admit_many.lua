-- All-or-nothing admission of one action on many instances (batch APIs): every id is checked
-- first; only if all pass are all transitioned. Returns {'ok', gen1, prev1, gen2, prev2, ...},
-- {'notfound', id} or {'refused', id, status}.
-- Every admission is unconfirmed under the shim's one token (see admit.lua).
-- ARGV: prefix, tenant, action, transitional_code, allowed, request_id, now_ms, now_rfc3339,
--       history_max, token, id1, id2, ...
local p, tenant = ARGV[1], ARGV[2]
local n = #ARGV - 10
local statuses = {}
for i = 1, n do
  local id = ARGV[10 + i]
  local cur = redis.call('HMGET', p .. 'i:' .. id, 'owner', 'status')
  if not cur[1] or cur[1] ~= tenant then return {'notfound', id} end
  if not string.find(ARGV[5], ',' .. cur[2] .. ',', 1, true) then return {'refused', id, tonumber(cur[2])} end
  statuses[i] = cur[2]
end
local out = {'ok'}
for i = 1, n do
  local id = ARGV[10 + i]
  local key = p .. 'i:' .. id
  local gen = redis.call('HINCRBY', key, 'gen', 1)
  redis.call('HSET', key, 'status', ARGV[4], 'failure_message', '', 'updated_at', ARGV[8],
    'p_action', ARGV[3], 'p_gen', gen, 'p_req', ARGV[6], 'p_at', ARGV[7], 'p_since', ARGV[7],
    'p_prev', statuses[i], 'p_attempt', 1, 'p_tok', ARGV[10], 'p_conf', 0)
  redis.call('ZADD', p .. 'pending', ARGV[7], id)
  redis.call('XADD', p .. 'h:' .. id, 'MAXLEN', '~', ARGV[9], '*', 'status', ARGV[4], 'gen', gen,
    'request_id', ARGV[6], 'worker', '', 'at', ARGV[7])
  redis.call('PUBLISH', p .. 'events', id .. ' ' .. ARGV[4] .. ' ' .. gen)
  out[#out + 1] = gen
  out[#out + 1] = tonumber(statuses[i])
end
return out
