#!/usr/bin/env python3
"""Smoke test of the RELEASE binary (the README's run command builds it; the test suites run debug builds):
`atlas serve` on a fresh database answers /health and approves a sale with a sandbox key, and is
still running afterwards. A release-only crash in the server's request path once passed every debug test.

Usage: DATABASE_URL=postgresql://…/atlas bench/release_smoke.py path/to/release/atlas. Exit status 0 = pass.
"""
import os, subprocess, sys, tempfile, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, free_port, pg_args, psql, start_server  # noqa: E402


def main():
    atlas, base = sys.argv[1], os.environ["DATABASE_URL"]
    name = "atlas_release_smoke_" + str(os.getpid())
    _, parsed = pg_args(base)
    psql(base, parsed.path.lstrip("/") or "postgres", f"DROP DATABASE IF EXISTS {name}")
    psql(base, parsed.path.lstrip("/") or "postgres", f"CREATE DATABASE {name}")
    url = urllib.parse.urlunparse(parsed._replace(path="/" + name))
    env = dict(os.environ, DATABASE_URL=url, LOG_LEVEL="error")
    subprocess.run([atlas, "migrate"], env=env, check=True, capture_output=True)
    created = subprocess.run([atlas, "admin", "create-merchant", "--name", "Smoke"], env=env, check=True,
                             capture_output=True, text=True).stdout
    key = created.split("(shown once): ")[1].split()[0]
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_server(atlas, url, port, log)
        client = Client(port)
        status, body = client.post("/v1/transaction/sale", {"type": "SALE", "amount": 100, "currency": "NZD"},
                                   {"X-Api-Key": key})
        client.close()
        alive = server.poll() is None
        server.kill()
        server.wait()
        log.seek(0)
        crashed = b"crashed" in log.read()
    psql(base, parsed.path.lstrip("/") or "postgres", f"DROP DATABASE IF EXISTS {name}")
    if status != 200 or body.get("status") != "APPROVED" or not alive or crashed:
        raise SystemExit(f"FAIL release server: sale {status} {body}, running {alive}, crash report {crashed}")
    print("PASS release server: health, sale approved, still running")


if __name__ == "__main__":
    main()
