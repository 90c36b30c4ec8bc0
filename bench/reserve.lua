-- wrk script: POST /api/v1/orders for one ticket of the hot type, counting answers by status.
-- The ticket type id comes from the environment (BENCH_TICKET_TYPE).
local ticket_type = os.getenv("BENCH_TICKET_TYPE")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"items":[{"ticket_type_id":"%s","quantity":1}],"email":"w%d.%d@bench.example.org","phone":"+49 30 1234567"}',
    ticket_type, id, counter)
  return wrk.format("POST", "/api/v1/orders", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50": %.2f, "p95": %.2f, "p99": %.2f, "statuses": {%s}, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, table.concat(parts, ", "),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
