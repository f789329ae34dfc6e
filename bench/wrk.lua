-- The load generator of bench/load.py, run by wrk: each connection sends, in turn, the requests
-- that load.py wrote to a Lua file for one endpoint (sessions, forms, queries already prepared),
-- each from an address of its own (X-Forwarded-For), and counts the answers whose status is not
-- the one expected. Prints one JSON line at the end.
--
--   wrk -t2 -c16 -d20s -s bench/wrk.lua http://127.0.0.1:8000 -- requests.lua 2

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local spec = dofile(args[1])
  local count = tonumber(args[2])
  expected = spec.expected
  unexpected = 0
  mine = {}
  -- Each thread its own share: two threads never send the same login at once.
  for index, item in ipairs(spec.requests) do
    if (index - 1) % count == id then
      table.insert(mine, item)
    end
  end
  turn = 0
  math.randomseed(os.time() * 1000 + id)
end

function request()
  turn = turn % #mine + 1
  local item = mine[turn]
  local headers = {}
  for name, value in pairs(item.headers) do
    headers[name] = value
  end
  headers["X-Forwarded-For"] = string.format(
    "10.%d.%d.%d", math.random(0, 250), math.random(0, 250), math.random(1, 250)
  )
  return wrk.format(item.method, item.path, headers, item.body)
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  for _, thread in ipairs(threads) do
    unexpected_total = unexpected_total + thread:get("unexpected")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50": %.3f, "p95": %.3f, "p99": %.3f, "unexpected": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    unexpected_total, errors.connect + errors.read + errors.write + errors.timeout
  ))
end
