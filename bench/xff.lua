-- wrk script for bench/web: every request to / comes "through the proxy" (the loopback peer is a
-- trusted proxy) for one address picked at random from the file named by XFF_FILE, one address
-- a line. done() prints one JSON line: requests/s, latency percentiles (µs), errors.
-- ACCEPT_ENCODING, when set, is sent as Accept-Encoding (browsers always send one).
local addrs = {}
local encoding = os.getenv("ACCEPT_ENCODING")

function init(args)
  for line in io.lines(os.getenv("XFF_FILE")) do
    if line ~= "" then addrs[#addrs + 1] = line end
  end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function request()
  local ip = addrs[math.random(#addrs)]
  local headers = { ["X-Forwarded-For"] = ip, ["Accept-Language"] = "ja" }
  if encoding and encoding ~= "" then headers["Accept-Encoding"] = encoding end
  return wrk.format("GET", "/", headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"per_second":%.0f,"p50_us":%d,"p99_us":%d,"max_us":%d,"non_2xx":%d,"errors":%d}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
