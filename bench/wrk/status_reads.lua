-- wrk script: GET the status of the ids in IDS_FILE round-robin.
-- usage: wrk -t1 -c64 -d10s -s status_reads.lua URL -- IDS_FILE API_KEY
function init(args)
  ids = {}
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  key = args[2]
  i = 0
  non200 = 0
end
function request()
  i = i % #ids + 1
  return wrk.format("GET", "/api/lambda-instances/" .. ids[i] .. "/status/", {["X-API-Key"] = key})
end
function response(status) if status ~= 200 then non200 = non200 + 1 end end
function done(summary, latency, requests)
  io.write(string.format("reads_per_s %.1f\nlatency_p99_ms %.2f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000))
end
