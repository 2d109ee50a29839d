-- Clears an instance's failure_message: Feldera's `dismiss_error` (SPEC §4.3), which the official
-- client sends before every default start. Nothing to clear is fine; a message is cleared only
-- while the pipeline is fully stopped (the statuses in `allowed`, from the C++ dialect rules), as
-- Feldera allows. No status changes, so no history entry and no event.
-- KEYS: instance (keys.h)
-- ARGV: tenant, allowed (",1,9,")
-- Returns {'notfound'} (missing, another tenant's, or destroyed), {'ok', cleared (0|1)} or
-- {'refused', status}.
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'owner', 'status', 'failure_message')
if not cur[1] or cur[1] ~= ARGV[1] or cur[2] == S_DESTROYED then return {'notfound'} end
if not cur[3] or cur[3] == '' then return {'ok', 0} end
if not string.find(ARGV[2], ',' .. cur[2] .. ',', 1, true) then
  return {'refused', tonumber(cur[2])}
end
redis.call('HSET', key, 'failure_message', '')
return {'ok', 1}
