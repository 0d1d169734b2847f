#!/usr/bin/env python3
"""Event-log failover against two REAL `atlas serve` processes on one database.

Both run the event log's probe consumer (ATLAS_EVENT_LOG_PROBE_CONSUMER=1). The check:
  * exactly one instance holds the consumer's lease, and it consumes the sales' events (lag 0 on /metrics),
  * after SIGKILL of that instance, the other takes the lease and consumes every event appended since,
    within FAILOVER_SECONDS_MAX (10 s) of the kill; no event is left behind the cursor.

Usage: DATABASE_URL=... bench/event_failover.py [path/to/atlas]. Exit status 0 = pass.
"""
import os, random, re, signal, socket, subprocess, sys, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, free_port, pg_args, psql, start_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAILOVER_SECONDS_MAX = 10.0
CONSUMER = "event_log.probe"
SALES_PER_PHASE = 20


def metrics(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode(errors="replace")


def lag_events(port):
    match = re.search(r'^atlas_event_consumer_lag_events\{consumer="event_log\.probe"\} (\S+)$', metrics(port), re.M)
    return float(match.group(1)) if match else None


def lease(base, name):
    rows = psql(base, name, f"""
        SELECT lease_holder FROM event_log_consumers
        WHERE name = '{CONSUMER}' AND lease_expires_at > clock_timestamp()""")
    return rows[0][0] if rows else None


def caught_up(base, name):
    """True when the consumer's cursor is at or past every event in the log."""
    rows = psql(base, name, f"""
        SELECT NOT EXISTS (SELECT 1 FROM event_log e, event_log_consumers c
                           WHERE c.name = '{CONSUMER}' AND (e.writer_xid, e.seq) > (c.cursor_xid, c.cursor_seq))""")
    return rows[0][0] == "t"


def sell(port, key, count, tag):
    client = Client(port)
    for index in range(count):
        status, body = client.post("/v1/transaction/sale", {"type": "SALE", "amount": 100 + index, "currency": "NZD",
                                                           "referenceId": f"{tag}-{index}"}, {"X-Api-Key": key})
        assert status == 200, (status, body)
    client.close()


def wait_for(what, seconds, condition):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    base = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is required")
    name = "atlas_failover_%06x" % random.randrange(1 << 24)
    psql(base, "postgres", f"CREATE DATABASE {name}")
    _, parsed = pg_args(base)
    url = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    os.environ["ATLAS_EVENT_LOG_PROBE_CONSUMER"] = "1"
    admin = subprocess.run([atlas, "admin", "create-merchant", "--name", "Failover"],
                           env=dict(os.environ, DATABASE_URL=url, LOG_LEVEL="error"),
                           capture_output=True, text=True, check=True).stdout
    key = admin.split("(shown once): ")[1].split()[0]
    ports = [free_port(), free_port()]
    logs = [open(os.path.join(ROOT, f".build/event-failover-{i}.log"), "w") for i in range(2)]
    servers = [start_server(atlas, url, ports[i], logs[i]) for i in range(2)]

    wait_for("a lease holder", 30, lambda: lease(base, name) is not None)
    holder = lease(base, name)
    pids = [str(server.pid) for server in servers]
    held_by = [i for i, pid in enumerate(pids) if f"-{pid}-" in holder]
    assert len(held_by) == 1, (holder, pids)
    victim, survivor = held_by[0], 1 - held_by[0]

    sell(ports[survivor], key, SALES_PER_PHASE, "before")
    wait_for("the holder consuming", 30, lambda: caught_up(base, name))
    wait_for("lag 0 on /metrics", 30, lambda: lag_events(ports[victim]) == 0)

    servers[victim].send_signal(signal.SIGKILL)
    servers[victim].wait()
    killed = time.monotonic()
    sell(ports[survivor], key, SALES_PER_PHASE, "after")
    wait_for("the survivor taking over", 30,
             lambda: (lease(base, name) or "").find(f"-{pids[survivor]}-") >= 0 and caught_up(base, name))
    failover_seconds = time.monotonic() - killed
    events = int(psql(base, name, "SELECT count(*) FROM event_log")[0][0])
    print(f"failover: {failover_seconds:.2f} s after SIGKILL; {events} events, all behind the survivor's cursor")
    if events != 2 * SALES_PER_PHASE:
        raise SystemExit(f"FAIL: expected {2 * SALES_PER_PHASE} events, found {events}")
    if failover_seconds > FAILOVER_SECONDS_MAX:
        raise SystemExit(f"FAIL: failover took {failover_seconds:.2f} s (max {FAILOVER_SECONDS_MAX})")
    servers[survivor].send_signal(signal.SIGTERM)
    servers[survivor].wait(timeout=30)
    print("PASS")


if __name__ == "__main__":
    main()
