-- wrk script: optional POST body from $WRK_BODY (a file), JSON summary with p50/p99/p99.9 on exit.
--   WRK_CONTENT_TYPE  the body's Content-Type (default application/json)
--   WRK_HEADER        one more header, "Name: value" (OIP v2's Inference-Header-Content-Length)
--   WRK_PATHS         a file of request paths, one a line, taken in turn (requests spread over models)
-- No response() callback: one makes wrk hand every response to Lua, which costs wrk (sharing the
-- cores with the server) more for big answers than for small ones. wrk counts statuses >= 400 in
-- errors.status itself; the server answers 200 or an error status, never 1xx or 3xx.
local path = os.getenv("WRK_BODY")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  local ct = os.getenv("WRK_CONTENT_TYPE")
  wrk.headers["Content-Type"] = (ct and ct ~= "") and ct or "application/json"
end
local header = os.getenv("WRK_HEADER")
if header and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
local paths_file = os.getenv("WRK_PATHS")
if paths_file and paths_file ~= "" then
  local paths, n = {}, 0
  for line in io.lines(paths_file) do n = n + 1; paths[n] = line end
  local i = 0
  -- Each thread starts at its own place, then takes the paths in turn.
  function init(args) i = math.random(n) end
  function request()
    i = i % n + 1
    return wrk.format(nil, paths[i])
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_us": %d, "p99_us": %d, "p999_us": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status))
end
