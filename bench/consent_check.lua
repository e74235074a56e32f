-- wrk script for the consent check rows of `make bench`: replays "kind<TAB>path" lines from
-- BENCH_TARGETS (only those of kind BENCH_KIND), round robin, every request with the same
-- `Authorization` header (BENCH_AUTH), the floor's too, so both parse the same headers.
-- With BENCH_BODY (a file), each request is a POST of that JSON body. Prints the same JSON
-- line as loadgen.lua.

local targets = {}
local kind = os.getenv("BENCH_KIND") or "floor"
for line in io.lines(os.getenv("BENCH_TARGETS")) do
  local k, path = line:match("^([^\t]+)\t([^\t]+)")
  if k == kind then
    table.insert(targets, path)
  end
end
if #targets == 0 then
  error("no targets of kind " .. kind)
end

local headers = { ["Authorization"] = os.getenv("BENCH_AUTH") or "" }
local method = "GET"
local body = nil
local body_file = os.getenv("BENCH_BODY") or ""
if body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
  method = "POST"
  headers["Content-Type"] = "application/json"
end

local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0")
local counter = 0
local sent = 0

function init(args)
  counter = math.random(#targets)
end

function request()
  counter = counter % #targets + 1
  sent = sent + 1
  if max_requests > 0 and sent > max_requests then
    wrk.thread:stop()
  end
  return wrk.format(method, targets[counter], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
