#!/usr/bin/env python3
"""A webhook receiver for tests and bench/webhooks.sh: records every request as one JSON line and answers
by path. Prints its port on the first line of stdout once listening.

Usage: receiver.py LOG_FILE [--tls CERT KEY] [--bind ADDRESS]

Paths: /ok → 200; /gone → 410; /busy → 429 Retry-After: 120; /unavailable → 503 Retry-After: 30;
/fail → 500; /slow?s=N → waits N seconds, then 200; /redirect → 302 to the cloud metadata address;
/big → 200 with a 200 KB body.
"""
import base64
import http.server
import json
import os
import signal
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

log_path = sys.argv[1]
lock = threading.Lock()
log = open(log_path, "a")  # kept open: the receiver should not be what limits a throughput run
# A child spawned by Swift's Foundation.Process inherits the spawning thread's blocked signals, SIGTERM
# included; unblock it so Process.terminate() ends the receiver.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out in two writes; with Nagle's algorithm the body waits for the client's
    # delayed ACK of the head (up to 40 ms a request), which made the receiver, not the sender, set the pace.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        url = urllib.parse.urlparse(self.path)
        record = {"path": url.path, "query": url.query, "headers": list(self.headers.items()),
                  "body": base64.b64encode(body).decode(), "received": time.time(),
                  "connection": "%s:%d" % self.client_address[:2]}
        with lock:
            log.write(json.dumps(record) + "\n")
            log.flush()  # readers see whole lines as soon as the request is answered
        query = urllib.parse.parse_qs(url.query)
        status, headers, payload = 200, {}, b"ok"
        if url.path == "/gone":
            status, payload = 410, b"gone"
        elif url.path == "/busy":
            status, headers, payload = 429, {"Retry-After": "120"}, b"slow down"
        elif url.path == "/unavailable":
            status, headers, payload = 503, {"Retry-After": "30"}, b"later"
        elif url.path == "/fail":
            status, payload = 500, b"boom"
        elif url.path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
        elif url.path == "/redirect":
            status, headers, payload = 302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""
        elif url.path == "/big":
            payload = b"x" * 200_000
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: dozens of deliveries connecting at once would be refused.
    request_queue_size = 1024


bind = "127.0.0.1"
if "--bind" in sys.argv:
    bind = sys.argv[sys.argv.index("--bind") + 1]
server = Server((bind, 0), Handler)
if "--tls" in sys.argv:
    index = sys.argv.index("--tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[index + 1], sys.argv[index + 2])
    server.socket = context.wrap_socket(server.socket, server_side=True)


def exit_with_parent(parent=os.getppid()):
    # A test process killed mid-run never stops its receivers: follow it.
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


threading.Thread(target=exit_with_parent, daemon=True).start()
print(server.server_address[1], flush=True)
server.serve_forever()
