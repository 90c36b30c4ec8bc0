-- wrk script: POST /api/v1/orders/validate with real ticket codes read from BENCH_CODES (one per line).
-- Each request gets a fresh nonce; codes cycle, so the first pass is "valid", later ones "already_used".
local event_id = os.getenv("BENCH_EVENT_ID")
local token = os.getenv("BENCH_DEVICE_TOKEN")
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  for line in io.lines(os.getenv("BENCH_CODES")) do table.insert(codes, line) end
  counter = 0
  statuses = {}
  math.randomseed(id * 7919)
end

function request()
  counter = counter + 1
  local code = codes[math.random(#codes)]
  local body = string.format(
    '{"code":"%s","event_id":"%s","gate":"Main","nonce":"w%d-%d-%d","device_id":"wrk-%d"}',
    code, event_id, id, counter, math.random(1000000000), id)
  return wrk.format("POST", "/api/v1/orders/validate",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do totals[status] = (totals[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(totals) do table.insert(parts, string.format('"%d": %d', status, count)) end
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50": %.2f, "p95": %.2f, "p99": %.2f, "statuses": {%s}, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, table.concat(parts, ", "),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
