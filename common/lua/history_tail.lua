-- The tail of one instance's history from an entry on (a tenant stream's resume, SPEC §4.4).
-- Read-only. The caller must know whether entries it needs were trimmed away (MAXLEN keeps the
-- newest): trimming only ever removes the oldest, so when anything was ever removed the first
-- retained entry bounds what is gone; the caller compares it with where it resumes from.
-- KEYS: history (keys.h: the instance's slot)
-- ARGV: start (an entry id, inclusive), count
-- Returns {first retained entry id when some were removed, else '', XRANGE start + COUNT count}.
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
if #entries == 0 then return {'', entries} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local length, added, first = 0, 0, ''
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'length' then
    length = info[i + 1]
  elseif k == 'entries-added' then
    added = info[i + 1]
  elseif k == 'first-entry' and info[i + 1] then
    first = info[i + 1][1]
  end
end
if added > length then return {first, entries} end
return {'', entries}
