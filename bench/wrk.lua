-- wrk script: optional POST body from $WRK_BODY (a file), JSON summary with p50/p99/p99.9 on exit.
-- No response() callback: one makes wrk hand every response to Lua, which costs wrk (sharing the
-- cores with the server) more for big answers than for small ones. wrk counts statuses >= 400 in
-- errors.status itself; the server answers 200 or an error status, never 1xx or 3xx.
local path = os.getenv("WRK_BODY")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_us": %d, "p99_us": %d, "p999_us": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status))
end
