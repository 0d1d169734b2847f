#!/usr/bin/env python3
"""Crash test for automatic posting (consumer `accounting.ledger`) against the REAL server binary.

Starts `atlas serve` on a fresh database with a merchant whose company has a chart (so its test-mode sales post
into the company's test ledger), drives concurrent SALEs with tips over real sockets, SIGKILLs the server while
the consumer is still posting, restarts it, waits until the ledger has caught up, then checks in PostgreSQL:

  * every approved sale has exactly one journal entry (source_type 'transaction'), and no entry lacks its sale,
  * every entry balances (Σ debit base = Σ credit base) and so does the whole test ledger,
  * the live ledger is untouched (test-mode sales never reach it),
  * the day balances match the lines (`atlas admin accounting-check-balances` exits 0),
  * nothing of the consumer was parked.

Usage: DATABASE_URL=postgresql://atlas@/atlas?host=/tmp/pg&port=5432 bench/accounting_crash.py [path/to/atlas]
(defaults to .build/debug/atlas). Exit status 0 = pass. Env: CRASH_WORKERS (8), CRASH_KILL_AFTER (2.5 s),
CRASH_CATCH_UP_SECONDS (90).
"""
import os, random, signal, subprocess, sys, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Client, free_port, pg_args, psql, start_server  # noqa: E402

WORKERS = int(os.environ.get("CRASH_WORKERS", "8"))
KILL_AFTER_SECONDS = float(os.environ.get("CRASH_KILL_AFTER", "2.5"))
CATCH_UP_SECONDS = float(os.environ.get("CRASH_CATCH_UP_SECONDS", "90"))


def admin(atlas, url, *args):
    return subprocess.run([atlas, "admin", *args], env=dict(os.environ, DATABASE_URL=url, LOG_LEVEL="error"),
                          capture_output=True, text=True)


def books(atlas, url, port):
    """A merchant, its owner (Enterprise tier), a company in NZD linked to the merchant, and its chart; the key."""
    created = admin(atlas, url, "create-merchant", "--name", "Crash Books").stdout
    fields = dict(line.split(" ", 1) for line in created.splitlines() if line.startswith(("organization ", "merchant ")))
    key = created.split("(shown once): ")[1].split()[0]
    password = "crash password %d" % random.randrange(1 << 30)
    for args in (["create-user", "--org", fields["organization"], "--merchant", fields["merchant"], "--email",
                  "owner@crash.example", "--password", password, "--role", "owner"],
                 ["set-org-tier", "--org", fields["organization"], "--tier", "enterprise"]):
        result = admin(atlas, url, *args)
        assert result.returncode == 0, result.stderr
    client = Client(port)
    status, body = client.post("/api/v1/auth/login", {"email": "owner@crash.example", "password": password}, {})
    assert status == 200, (status, body)
    bearer = {"Authorization": "Bearer " + body["tokens"]["access_token"]}
    status, company = client.post("/api/v1/companies/", {"name": "Crash Books", "fiscal_year_start_date": "2026-01-01",
                                                         "base_currency": "NZD"}, bearer)
    assert status == 201 and company.get("merchant_id"), (status, company)
    status, body = client.post("/api/v1/accounts/setup-coa?company_id=" + company["id"], {}, bearer)
    assert status == 201, (status, body)
    client.close()
    return key


def main():
    atlas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/atlas")
    base = os.environ.get("DATABASE_URL") or sys.exit("DATABASE_URL is required")
    name = "atlas_acct_crash_%06x" % random.randrange(1 << 24)
    psql(base, "postgres", f"CREATE DATABASE {name}")
    _, parsed = pg_args(base)
    url = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    log = open(os.path.join(ROOT, ".build/accounting-crash-server.log"), "w")
    port = free_port()
    server = start_server(atlas, url, port, log)
    key = books(atlas, url, port)
    keys = []
    for index in range(WORKERS):
        client = Client(port)
        status, body = client.post("/v1/api-keys", {"name": f"crash-{index}"}, {"X-Api-Key": key})
        client.close()
        assert status == 201, (status, body)
        keys.append(body["secret"])

    stop = threading.Event()
    sent = [0] * WORKERS

    def worker(index):
        client = Client(port)
        while not stop.is_set():
            sent[index] += 1
            try:
                client.post("/v1/transaction/sale", {"type": "SALE", "amount": 1000 + sent[index] % 900, "tipAmount": 150,
                                                     "currency": "NZD"},
                            {"X-Api-Key": keys[index], "Idempotency-Key": f"{name}-{index}-{sent[index]}"})
            except (OSError, ConnectionError, ValueError):
                client.close()
                time.sleep(0.05)
        client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AFTER_SECONDS)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    approved = int(psql(base, name, "SELECT count(*) FROM transactions WHERE status = 'APPROVED'")[0][0])
    posted_at_kill = int(psql(base, name, "SELECT count(*) FROM accounting_journal_entries WHERE source_type = 'transaction'")[0][0])

    server = start_server(atlas, url, port, log)
    deadline = time.time() + CATCH_UP_SECONDS
    posted = posted_at_kill
    while time.time() < deadline:
        posted = int(psql(base, name, "SELECT count(*) FROM accounting_journal_entries WHERE source_type = 'transaction'")[0][0])
        if posted >= approved:
            break
        time.sleep(0.5)
    time.sleep(1.5)  # anything past "caught up" (a duplicate) would show now
    server.send_signal(signal.SIGTERM)
    server.wait()

    failures = []
    checks = psql(base, name, """
        SELECT
          (SELECT count(*) FROM transactions t WHERE t.status = 'APPROVED' AND NOT EXISTS (
              SELECT 1 FROM accounting_journal_entries e WHERE e.source_type = 'transaction' AND e.source_id = t.id)),
          (SELECT count(*) FROM (SELECT source_id FROM accounting_journal_entries WHERE source_type = 'transaction'
              GROUP BY source_id HAVING count(*) > 1) d),
          (SELECT count(*) FROM accounting_journal_entries e WHERE e.source_type = 'transaction' AND NOT EXISTS (
              SELECT 1 FROM transactions t WHERE t.id = e.source_id AND t.status = 'APPROVED')),
          (SELECT count(*) FROM (SELECT entry_id FROM accounting_journal_lines GROUP BY entry_id
              HAVING sum(CASE WHEN side = 'debit' THEN base_amount_minor ELSE -base_amount_minor END) <> 0) u),
          (SELECT coalesce(sum(CASE WHEN side = 'debit' THEN base_amount_minor ELSE -base_amount_minor END), 0)
              FROM accounting_journal_lines WHERE mode = 'test'),
          (SELECT count(*) FROM accounting_journal_entries WHERE mode = 'live' AND source_type = 'transaction'),
          (SELECT count(*) FROM event_log_parked WHERE consumer = 'accounting.ledger')
        """)[0]
    labels = ["approved sales without an entry", "sales with more than one entry", "entries without an approved sale",
              "unbalanced entries", "test ledger debits minus credits", "live-ledger entries from test sales",
              "parked accounting.ledger events"]
    for label, count in zip(labels, checks):
        if int(count) != 0:
            failures.append(f"{count} {label}")
    drift = admin(atlas, url, "accounting-check-balances")
    if drift.returncode != 0:
        failures.append("accounting-check-balances: " + (drift.stdout + drift.stderr).strip()[-300:])
    if approved == 0:
        failures.append("no sale was approved before the kill")

    print(f"approved sales: {approved}, entries at kill: {posted_at_kill}, entries after restart: {posted}")
    psql(base, "postgres", f"DROP DATABASE {name} WITH (FORCE)")
    if failures:
        print("FAIL\n  " + "\n  ".join(failures[:20]))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
