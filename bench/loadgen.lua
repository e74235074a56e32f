-- wrk script for `make bench`: replays "kind<TAB>path<TAB>cookie" lines from BENCH_TARGETS
-- (only those of kind BENCH_KIND), round robin, and prints one JSON line of results.
-- BENCH_MAX_REQUESTS bounds the requests each thread sends, on top of wrk's -d time bound.

local targets = {}
local kind = os.getenv("BENCH_KIND") or "floor"
for line in io.lines(os.getenv("BENCH_TARGETS")) do
  local k, path, cookie = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
  if k == kind then
    table.insert(targets, { path = path, cookie = cookie })
  end
end
if #targets == 0 then
  error("no targets of kind " .. kind)
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
  local t = targets[counter]
  local headers = {}
  if t.cookie ~= "" then
    headers["Cookie"] = t.cookie
  end
  return wrk.format("GET", t.path, headers)
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
