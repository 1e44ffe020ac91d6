-- wrk script: POST a body read from a file; write a JSON summary.
-- usage: WRK_OUT=OUT_FILE wrk ... -s post.lua URL -- BODY_FILE ["Header: value" ...]
-- (done() runs in wrk's main Lua state, where init() never ran: the output
-- path comes from the environment)

function init(args)
	local f = assert(io.open(args[1], "rb"))
	wrk.body = f:read("*a")
	f:close()
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	for i = 2, #args do
		local k, v = args[i]:match("^([^:]+):%s*(.*)$")
		if k then wrk.headers[k] = v end
	end
end

function done(summary, latency, requests)
	local path = assert(os.getenv("WRK_OUT"), "WRK_OUT not set")
	local e = summary.errors
	local s = string.format(
	    '{"duration_us":%d,"requests":%d,"bytes":%d,' ..
	    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
	    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
	    '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
	    summary.duration, summary.requests, summary.bytes,
	    e.connect, e.read, e.write, e.status, e.timeout,
	    latency.min, latency.mean, latency.stdev, latency.max,
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency:percentile(99.9))
	local f = assert(io.open(path, "w"))
	f:write(s)
	f:close()
end
