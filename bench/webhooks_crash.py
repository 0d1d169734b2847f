#!/usr/bin/env python3
"""Crash test of webhook delivery against the REAL server binary and a PRIVATE PostgreSQL cluster.

Starts its own cluster (scripts/lib/pg.sh), a local receiver (bench/webhooks/receiver.py) and `atlas serve`;
registers ENDPOINTS endpoints (each subscribed to one event type, so the per-endpoint in-flight limit does not
serialise the run), appends EVENTS events to the event log in batches while deliveries flow, SIGKILLs the server
once a fifth has arrived (and starts another), restarts PostgreSQL once half has arrived, then checks:

  * every event was delivered at least once (none lost) and nothing else was delivered,
  * duplicates are only of the same event id, with the same body bytes (a redelivery, never a new event),
  * the deliveries all end `succeeded` in the database,
  * a sample verifies with the standardwebhooks library and the independent HMAC (bench/webhooks/verify.py).

Usage: bench/webhooks_crash.py [path/to/atlas]   (run `swift build --product atlas` first). Exit status 0 = pass.
Tunables: WEBHOOK_CRASH_EVENTS (10000), WEBHOOK_CRASH_ENDPOINTS (16, the per-merchant limit), WEBHOOK_CRASH_TIMEOUT (240 s).
"""
import atexit, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, STARTED, free_port, psql_binary  # noqa: E402
from harness import start_server as start_atlas  # noqa: E402

EVENTS = int(os.environ.get("WEBHOOK_CRASH_EVENTS", "10000"))
ENDPOINTS = int(os.environ.get("WEBHOOK_CRASH_ENDPOINTS", "16"))
TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_CRASH_TIMEOUT", "240"))
BATCHES = 20
LEASE_SECONDS = 20
FOLDER = tempfile.mkdtemp(prefix="atlas-wh-crash-", dir="/tmp")
os.chmod(FOLDER, 0o755)  # the cluster may run as another user (pg.sh)


@atexit.register
def cleanup():
    """Never leave a server, receiver or cluster behind, even when a check raises."""
    for process in STARTED:
        if process.poll() is None:
            process.kill()
            process.wait()
    pg("pg_local_stop", FOLDER + "/data", check=False)
    shutil.rmtree(FOLDER, ignore_errors=True)


def pg(function, *arguments, check=True):
    script = f"source {ROOT}/scripts/lib/pg.sh && {function} " + " ".join(arguments) + " && echo \"URL=$DATABASE_URL\""
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"FAIL {function}: {done.stderr.strip()}")
    return next((line[4:] for line in done.stdout.splitlines() if line.startswith("URL=")), "")


def psql(url, sql):
    """Rows of `sql` on the database `url` names; RuntimeError while PostgreSQL is down (callers retry)."""
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parsed.query)
    done = subprocess.run([psql_binary(), "-h", query["host"][0], "-p", query["port"][0], "-U", parsed.username,
                           "-d", parsed.path.lstrip("/"), "-qtAX", "-F", "\t", "-c", sql], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def http(port, method, path, body, key):
    payload = json.dumps(body).encode() if body is not None else b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nX-Api-Key: {key}\r\n\r\n")
        s.sendall(head.encode() + payload)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(rest or b"null")


def start_server(atlas, url, port, log):
    return start_atlas(atlas, url, port, log, env={"ATLAS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                                                  "ATLAS_WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS)})


class Received:
    """event id -> list of body bytes, from the receiver's log, read on from where the last call stopped (a
    partial last line waits for the next call): re-reading the whole log every 0.1 s took a quarter of a core
    from the server under test."""

    def __init__(self, log_path):
        self.log_path, self.offset, self.partial, self.seen = log_path, 0, b"", {}

    def __call__(self):
        import base64
        with open(self.log_path, "rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            headers = {name.lower(): value for name, value in record["headers"]}
            self.seen.setdefault(headers.get("atlas-event-id"), []).append(base64.b64decode(record["body"]))
        return self.seen


def wait_for(received, count, deadline):
    while time.time() < deadline:
        if len(received()) >= count:
            return True
        time.sleep(0.1)
    return False


def setup(atlas, endpoints):
    """A cluster, a merchant, the receiver, `atlas serve` and `endpoints` endpoints (event type crash.t<i> each).
    Returns (url, port, log_path, receiver process, server log, (an endpoint's id, its secret), merchant, mode)."""
    url = pg("pg_local_start", FOLDER + "/data", str(free_port()))
    subprocess.run([atlas, "migrate"], env=dict(os.environ, DATABASE_URL=url, LOG_LEVEL="error"), check=True,
                   capture_output=True)
    admin = subprocess.run([atlas, "admin", "create-merchant", "--name", "Hooks"], env=dict(os.environ, DATABASE_URL=url,
                           LOG_LEVEL="error"), capture_output=True, text=True, check=True).stdout
    key = admin.split("(shown once): ")[1].split()[0]
    log_path = FOLDER + "/received.jsonl"
    open(log_path, "w").close()
    receiver = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench/webhooks/receiver.py"), log_path],
                                stdout=subprocess.PIPE, text=True)
    STARTED.append(receiver)
    receiver_port = int(receiver.stdout.readline())
    server_log = open(os.path.join(FOLDER, "server.log"), "w")
    port = free_port()
    start_server(atlas, url, port, server_log)
    secret = None
    for index in range(endpoints):
        status, body = http(port, "POST", "/v1/webhook-endpoints",
                            {"url": f"http://127.0.0.1:{receiver_port}/ok", "eventTypes": [f"crash.t{index}"]}, key)
        assert status == 201, (status, body)
        secret = secret or (body["id"], body["secret"])
    merchant, mode = psql(url, "SELECT merchant_id, mode FROM webhooks_endpoints LIMIT 1")[0]
    return url, port, log_path, receiver, server_log, secret, merchant, mode


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    url, port, log_path, _, server_log, secret, merchant, mode = setup(atlas, ENDPOINTS)
    received = Received(log_path)

    def append_events():
        per_batch = (EVENTS + BATCHES - 1) // BATCHES
        for start in range(0, EVENTS, per_batch):
            end = min(EVENTS, start + per_batch)
            for _ in range(100):
                try:
                    psql(url, f"""INSERT INTO event_log (event_id, event_type, merchant_id, mode, resource_id, payload, occurred_at)
                        SELECT 'evt_' || lpad(g::text, 26, '0'), 'crash.t' || (g % {ENDPOINTS}), '{merchant}', '{mode}',
                               'res' || (g % 97), jsonb_build_object('n', g), now()
                        FROM generate_series({start + 1}, {end}) g ON CONFLICT (event_id) DO NOTHING""")
                    break
                except RuntimeError:
                    time.sleep(0.2)  # PostgreSQL restarting: the batch is appended when it is back
            time.sleep(0.2)

    appender = threading.Thread(target=append_events)
    started = time.time()
    deadline = started + TIMEOUT_SECONDS
    appender.start()
    if not wait_for(received, EVENTS // 5, deadline):
        raise SystemExit("FAIL not a fifth of the events arrived before the kill")
    STARTED[-1].send_signal(signal.SIGKILL)
    STARTED[-1].wait()
    killed_at = len(received())
    start_server(atlas, url, port, server_log)
    if not wait_for(received, EVENTS // 2, deadline):
        raise SystemExit("FAIL not half of the events arrived before the PostgreSQL restart")
    pg("pg_local_restart", FOLDER + "/data")
    restarted_at = len(received())
    appender.join()
    complete = wait_for(received, EVENTS, deadline)
    seen = received()
    expected = {"evt_" + str(n).zfill(26) for n in range(1, EVENTS + 1)}
    missing = expected - set(seen)
    unknown = set(seen) - expected
    requests = sum(len(bodies) for bodies in seen.values())
    differing = [event for event, bodies in seen.items() if len(set(bodies)) > 1]
    elapsed = time.time() - started
    print(f"events {EVENTS}, endpoints {ENDPOINTS}: {len(seen)} delivered, {requests - len(seen)} duplicate requests, "
          f"killed at {killed_at}, PostgreSQL restarted at {restarted_at}, {elapsed:.1f} s")
    if not complete or missing:
        raise SystemExit(f"FAIL {len(missing)} events never delivered, e.g. {sorted(missing)[:3]}")
    if unknown or differing:
        raise SystemExit(f"FAIL unexpected deliveries {sorted(unknown)[:3]} or differing bodies {differing[:3]}")
    # An attempt answered while PostgreSQL was down may stay `delivering` until its lease lapses and it is sent
    # again (at least once), so the database gets the lease and some margin to say `succeeded` everywhere.
    for _ in range(int((LEASE_SECONDS + 15) / 0.2)):
        rows = psql(url, "SELECT status, count(*) FROM webhooks_deliveries GROUP BY status")
        if dict((status, int(n)) for status, n in rows) == {"succeeded": EVENTS}:
            break
        time.sleep(0.2)
    else:
        raise SystemExit(f"FAIL deliveries not all succeeded in the database: {rows}")
    # Verify a sample (the last 50 requests: fresh timestamps) with the standardwebhooks library and by hand.
    endpoint_id, endpoint_secret = secret
    sample = FOLDER + "/sample.jsonl"
    with open(log_path) as log, open(sample, "w") as out:
        lines = [line for line in log if endpoint_id in line][-50:]
        out.writelines(lines)
    verdict = subprocess.run([sys.executable, os.path.join(ROOT, "bench/webhooks/verify.py"), sample, endpoint_secret],
                             capture_output=True, text=True).stdout.strip()
    if not verdict.startswith("PASS"):
        raise SystemExit(f"FAIL signatures: {verdict}")
    print(f"PASS every event delivered at least once; duplicates only of the same event id and body; {verdict}")


if __name__ == "__main__":
    main()
