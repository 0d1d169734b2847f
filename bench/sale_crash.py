#!/usr/bin/env python3
"""Crash test for POST /v1/transaction/sale against the REAL server binary.

Starts `atlas serve` on a fresh database, drives concurrent SALEs over real sockets (raw HTTP/1.1,
one keep-alive connection per worker), SIGKILLs the server mid-load, then checks in PostgreSQL:

  * every sale that got a 2xx is in `transactions` exactly once (by transactionId and by referenceId),
  * no referenceId appears twice (nothing ran twice),
  * every transaction row has exactly one event in the event log and vice versa (no half-written payment),
  * every completed idempotency record points at an existing transaction, and every transaction
    written with an Idempotency-Key has a completed idempotency record (same commit).

Then restarts the server and retries every sale whose answer was lost with its same Idempotency-Key:
each must end with exactly one row.

Usage: DATABASE_URL=postgresql://atlas@/atlas?host=/tmp/pg&port=5432 bench/sale_crash.py [path/to/atlas]
(defaults to .build/debug/atlas; run `swift build --product atlas` first). Exit status 0 = pass.
"""
import os, random, signal, subprocess, sys, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Client, free_port, pg_args, psql, start_server  # noqa: E402

WORKERS = int(os.environ.get("CRASH_WORKERS", "24"))
KILL_AFTER_SECONDS = float(os.environ.get("CRASH_KILL_AFTER", "2.5"))


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    base = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is required")
    name = "atlas_crash_%06x" % random.randrange(1 << 24)
    psql(base, "postgres", f"CREATE DATABASE {name}")
    _, parsed = pg_args(base)
    url = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    admin = subprocess.run([atlas, "admin", "create-merchant", "--name", "Crash"], env=dict(os.environ, DATABASE_URL=url,
                           LOG_LEVEL="error"), capture_output=True, text=True, check=True).stdout
    key = admin.split("(shown once): ")[1].split()[0]
    port = free_port()
    log = open(os.path.join(ROOT, ".build/sale-crash-server.log"), "w")
    server = start_server(atlas, url, port, log)
    # One key per worker: each sk_ key allows 1,000 requests/minute (burst 1,000) and 50 in flight.
    keys = []
    for index in range(WORKERS):
        client = Client(port)
        status, body = client.post("/v1/api-keys", {"name": f"crash-{index}"}, {"X-Api-Key": key})
        client.close()
        assert status == 201, (status, body)
        keys.append(body["secret"])

    acknowledged = {}   # referenceId -> transactionId (2xx received)
    lost = {}           # referenceId -> idempotency key (sent, answer lost)
    lock = threading.Lock()
    stop = threading.Event()

    def worker(index):
        client = Client(port)
        counter = 0
        while not stop.is_set():
            counter += 1
            reference = f"w{index}-{counter}"
            idem = f"crash-{name}-{reference}"
            try:
                status, body = client.post("/v1/transaction/sale",
                                           {"type": "SALE", "amount": 100 + counter % 900, "currency": "NZD",
                                            "referenceId": reference}, {"X-Api-Key": keys[index], "Idempotency-Key": idem})
                with lock:
                    if 200 <= status < 300:
                        acknowledged[reference] = body["transactionId"]
                    else:
                        lost[reference] = (idem, keys[index])
            except (OSError, ConnectionError, ValueError):
                with lock:
                    lost[reference] = (idem, keys[index])
                client.close()
                time.sleep(0.05)
        client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AFTER_SECONDS)
    server.send_signal(signal.SIGKILL)
    server.wait()
    killed_at = len(acknowledged)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()

    failures = []
    rows = psql(base, name, "SELECT id, reference_id FROM transactions")
    by_id = {r[0]: r[1] for r in rows}
    references = [r[1] for r in rows]
    for reference, txn in acknowledged.items():
        if by_id.get(txn) != reference:
            failures.append(f"acknowledged {txn} ({reference}) missing from the database")
    if len(references) != len(set(references)):
        failures.append("a referenceId was written twice")
    orphans = psql(base, name, """
        SELECT (SELECT count(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM event_log o WHERE o.resource_id = t.id)),
               (SELECT count(*) FROM event_log o WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = o.resource_id)),
               (SELECT count(*) FROM (SELECT resource_id FROM event_log GROUP BY 1 HAVING count(*) > 1) d),
               (SELECT count(*) FROM idempotency_keys k WHERE k.state = 'completed'
                   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = convert_from(k.response_body, 'UTF8')::jsonb->>'transactionId')),
               (SELECT count(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.state = 'completed'
                   AND convert_from(k.response_body, 'UTF8')::jsonb->>'transactionId' = t.id))
        """)[0]
    labels = ["transactions without event", "events without transaction", "duplicate events",
              "completed idempotency keys without transaction", "transactions without completed idempotency key"]
    for label, count in zip(labels, orphans):
        if int(count) != 0:
            failures.append(f"{count} {label}")

    # Restart and retry the lost ones with the same key: each ends with exactly one row.
    server = start_server(atlas, url, port, log)
    client = Client(port)
    retried = 0
    for reference, (idem, worker_key) in sorted(lost.items()):
        for _ in range(40):
            status, body = client.post("/v1/transaction/sale", {"type": "SALE", "amount": 100 + int(reference.split("-")[1]) % 900,
                                       "currency": "NZD", "referenceId": reference}, {"X-Api-Key": worker_key, "Idempotency-Key": idem})
            if status == 409 and body.get("error") == "REQUEST_IN_PROGRESS":
                continue  # the killed request's claim is still locked; the middleware waited, try again
            break
        if not (200 <= status < 300):
            failures.append(f"retry of {reference} answered {status} {body.get('error')}")
        retried += 1
    client.close()
    server.send_signal(signal.SIGTERM)
    server.wait()
    duplicates = psql(base, name, "SELECT count(*) FROM (SELECT reference_id FROM transactions GROUP BY 1 HAVING count(*) > 1) d")[0][0]
    if int(duplicates) != 0:
        failures.append(f"{duplicates} referenceIds written twice after retries")
    total = psql(base, name, "SELECT count(*) FROM transactions")[0][0]
    expected = len(acknowledged) + len(lost)
    if int(total) != expected:
        failures.append(f"{total} rows after retries, expected {expected}")

    print(f"acknowledged before kill: {killed_at}, rows at kill: {len(rows)}, answers lost: {len(lost)}, "
          f"retried: {retried}, rows after retries: {total}")
    psql(base, "postgres", f"DROP DATABASE {name} WITH (FORCE)")
    if failures:
        print("FAIL\n  " + "\n  ".join(failures[:20]))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
