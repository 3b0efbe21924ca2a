-- wrk script for pcsim: every request asks for another tenant, so the
-- per-tenant map, the hashing and the body generation work as in a real
-- run rather than on one hot entry.
--
--   wrk -t2 -c64 -d10s -s bench/wrk_tenants.lua http://127.0.0.1:PORT
--
-- WRK_TENANTS (default 100000) is how many distinct tenants are cycled;
-- each wrk thread starts at its own offset.

local tenants = tonumber(os.getenv("WRK_TENANTS") or "100000")
local threads = 0

function setup(thread)
	thread:set("offset", threads * 7919)
	threads = threads + 1
end

local n = 0

function request()
	n = n + 1
	local i = ((offset or 0) + n) % tenants
	return wrk.format("GET", string.format(
		"/v1/customers/%08x-%04x-4%03x-8%03x-%012x/qualifications",
		i, i % 65536, i % 4096, (i * 7) % 4096, i * 40503))
end
