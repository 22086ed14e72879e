-- wrk script of bench/disbursements_load.py: POST /disbursements, every request with the bearer
-- token (a JWT), a fresh Idempotency-Key and a fresh line reference, the payee cycling over the
-- registered households, the project either one (hot) or one per request in turn (spread).
--
--   wrk -t T -c C -d 10s -s bench/disbursements.lua URL -- TOKEN RUN PROJECTS... (comma-separated)
--
-- Each wrk thread has its own Lua state: keys and line references carry the run and the thread's
-- number, so no two requests of a run share either. done() prints one JSON line the Python side
-- reads: requests, duration, latency percentiles (µs) and the statuses counted per thread.

local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

local token, run, projects, today, year
local counter = 0
statuses = {}  -- a global: done() reads it from each thread (thread:get)
local HOUSEHOLDS = 50000

function init(args)
  token, run = args[1], args[2]
  projects = {}
  for code in string.gmatch(args[3], "[^,]+") do table.insert(projects, code) end
  today = args[4]
  year = string.sub(today, 1, 4)
end

local function household_id(h)
  -- uuid.UUID(int=(0x652722 << 64) | h), as bench/harness.py household_id
  return string.format("00000000-0065-2722-0000-%012x", h)
end

function request()
  counter = counter + 1
  local n = number * 100000000 + counter
  local h = n % HOUSEHOLDS
  local project = projects[(counter % #projects) + 1]
  local body = string.format(
    '{"channel":"central_special","fiscal_year":%s,"document_date":"%s","amount":"12.34",' ..
    '"document_no":"精财拨〔2026〕单笔","project_code":"%s","line_ref":"W-%s-%d",' ..
    '"payee":{"kind":"household","name":"户%06d","household_id":"%s"}}',
    year, today, project, run, n, h, household_id(h))
  return wrk.format("POST", "/disbursements", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("%s-%d", run, n),
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, count in pairs(s) do counts[status] = (counts[status] or 0) + count end
  end
  local parts = {}
  for status, count in pairs(counts) do table.insert(parts, string.format('"%d":%d', status, count)) end
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ",")))
end
