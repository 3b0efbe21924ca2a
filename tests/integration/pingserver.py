#!/usr/bin/python3
"""A healthchecks.io stand-in for t_ping.sh: answers GET on 127.0.0.1 (a
free port, printed on stdout's first line) and appends "GET PATH" to the
log file given as its argument, one line per request, as it arrives.
Paths under /fail/ are answered 500, everything else 200 "OK"."""
import http.server
import sys

LOG = open(sys.argv[1], "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        LOG.write("GET %s\n" % self.path)
        status = 500 if self.path.startswith("/fail/") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
