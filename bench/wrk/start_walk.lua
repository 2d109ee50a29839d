-- wrk script: POST action=start to each seeded instance exactly once, spread over threads.
-- usage: wrk -t1 -c64 -d10s -s start_walk.lua URL -- IDS_FILE API_KEY [ACTION]
-- Every answer other than 202 is counted (and the first few printed) in done().
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  key = args[2]
  action = args[3] or "start"
  nthreads = #threads > 0 and #threads or 1
  i = tid or 0
  non202 = 0
  statuses = {}
  exhausted = 0
end

function request()
  local id = ids[i + 1]
  if id == nil then
    exhausted = exhausted + 1
    id = ids[1]  -- keeps the connection busy; answers 409 and is counted as non-202
  end
  i = i + (#threads > 0 and #threads or 1)
  return wrk.format("POST", "/api/lambda-instances/" .. id .. "/",
    {["X-API-Key"] = key, ["Content-Type"] = "application/x-www-form-urlencoded"}, "action=" .. action)
end

function response(status, headers, body)
  if status ~= 202 then
    non202 = non202 + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non = 0
  local by = {}
  for _, t in ipairs(threads) do
    non = non + t:get("non202")
    local s = t:get("statuses")
    for k, v in pairs(s) do by[k] = (by[k] or 0) + v end
  end
  local ok = summary.requests - non
  local secs = summary.duration / 1e6
  io.write(string.format("accepted_202 %d\nnon_202 %d\naccepted_per_s %.1f\n", ok, non, ok / secs))
  for k, v in pairs(by) do io.write(string.format("status_%s %d\n", k, v)) end
  io.write(string.format("latency_p50_ms %.2f\nlatency_p99_ms %.2f\nlatency_p999_ms %.2f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
