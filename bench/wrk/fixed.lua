-- wrk script for the HTTP ceiling: the same request shape as start_walk.lua, to a fixed-202 server.
function request()
  return wrk.format("POST", "/api/lambda-instances/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/",
    {["X-API-Key"] = "k", ["Content-Type"] = "application/x-www-form-urlencoded"}, "action=start")
end
function done(summary, latency, requests)
  io.write(string.format("accepted_per_s %.1f\nlatency_p99_ms %.2f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000))
end
