#!/usr/bin/env python3
"""What the crash tests and bench scripts share: a PostgreSQL client (psql), a free port, a minimal keep-alive
HTTP/1.1 client, and starting the REAL `atlas serve` (every server started here is killed when the script exits,
even when a check raises)."""
import atexit, glob, json, os, shutil, socket, subprocess, time, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Seconds `start_server` waits for /health: a debug build on a loaded 2-core machine may take a while.
SERVER_START_SECONDS_MAX = 20


def pg_args(url):
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parsed.query)
    return ["-h", query.get("host", ["localhost"])[0], "-p", query.get("port", ["5432"])[0],
            "-U", parsed.username or "atlas"], parsed


def psql_binary():
    pgbin = os.environ.get("ATLAS_TEST_PGBIN")
    if pgbin:
        return os.path.join(pgbin, "psql")
    return shutil.which("psql") or sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]


def psql(base_url, database, sql):
    args, _ = pg_args(base_url)
    out = subprocess.run([psql_binary(), *args, "-d", database, "-qtAX", "-F", "\t", "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """Minimal HTTP/1.1 client over one keep-alive socket."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def post(self, path, body, headers):
        status, raw = self.exchange("POST", path, json.dumps(body).encode(), headers)
        return status, json.loads(raw or b"null")

    def get_raw(self, path, headers):
        """GET `path`: the status and the body as bytes (undecoded, so a caller can time the exchange alone)."""
        return self.exchange("GET", path, None, headers)

    def exchange(self, method, path, payload, headers):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=45)
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.sock.sendall(head.encode() + (payload or b""))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        header_blob, rest = data.split(b"\r\n\r\n", 1)
        lines = header_blob.decode().split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        return status, rest[:length]

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


STARTED = []


@atexit.register
def stop_servers():
    """Never leave a server behind, even when a check raises."""
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_server(atlas, url, port, log, env=None):
    """`atlas serve` on 127.0.0.1:`port` against `url`, once /health answers 200; `env` adds variables."""
    environment = dict(os.environ, DATABASE_URL=url, PORT=str(port), HOST="127.0.0.1", ATLAS_ACCESS_LOG="false",
                       LOG_LEVEL="warning", **(env or {}))
    process = subprocess.Popen([atlas, "serve"], env=environment, stdout=log, stderr=log)
    STARTED.append(process)
    deadline = time.time() + SERVER_START_SECONDS_MAX
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("FAIL server did not become healthy")
