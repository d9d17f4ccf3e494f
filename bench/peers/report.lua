-- wrk script for the userd benchmark.
--
-- done() prints one machine-readable line that bench/run parses:
--   BENCH duration_us=.. requests=.. connect=.. read=.. write=.. status=..
--         timeout=.. lat_mean_us=.. lat_p50_us=.. lat_p99_us=.. lat_max_us=..
-- (latency in microseconds, from wrk's own histogram, same as --latency).
--
-- With WRK_VARY_ID=1 in the environment every request asks for another id
-- (/user/1, /user/2, ... wrapping at 1e6). Otherwise no request() function is
-- defined, so wrk keeps its static, pre-built request (cheapest for wrk).

if os.getenv("WRK_VARY_ID") == "1" then
  local counter = 0
  request = function()
    counter = counter % 1000000 + 1
    return wrk.format(nil, "/user/" .. counter)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH duration_us=%d requests=%d bytes=%d connect=%d read=%d write=%d" ..
    " status=%d timeout=%d lat_mean_us=%.1f lat_p50_us=%d lat_p99_us=%d" ..
    " lat_max_us=%d\n",
    summary.duration, summary.requests, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency.mean, latency:percentile(50.0),
    latency:percentile(99.0), latency.max))
end
