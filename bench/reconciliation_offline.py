#!/usr/bin/env python3
"""POST /api/reconcile figures of a running `atlas serve` (issue 12): latency of 500-event batches and offline
events accepted per second across parallel terminals. Run by bench/reconciliation.sh, which creates the devices,
seeds the cards and passes everything on the command line:

    reconciliation_offline.py BASE_URL TENANT_SLUG USERNAME PASSWORD CHAIN_START CARDS_PER_TERMINAL \
        LATENCY_BATCHES THROUGHPUT_BATCHES EVENTS_PER_BATCH DEVICE_FILE

DEVICE_FILE has one "deviceId terminalNumber deviceSecret" line per terminal. Terminal t owns the cards
`t * CARDS_PER_TERMINAL … + CARDS_PER_TERMINAL - 1` (12 hex digits), seeded by the shell script with balance and
card balance `SEED_BALANCE`, counter 0 and an empty chain starting at CHAIN_START.

Every batch is built (and every hash chained, terminal-api rule 24) before the clock starts, so the figures time
the server only. Debits of 100 minor units, EVENTS_PER_BATCH / CARDS_PER_BATCH per card per batch, counters
ascending per card. Each terminal's batches continue its cards' chains, latency batches first.

1. Latency: LATENCY_BATCHES batches one after another, round robin over the terminals: p50/p99/max.
2. Throughput: every terminal at once (connections opened before the clock starts), each sending its next
   THROUGHPUT_BATCHES batches back to back: accepted events / wall time.

Uploads count in each device's batch bucket (Auth: 40 batches at once, then 2 a second), so the shell script's
defaults stay inside the burst. A 429 is waited out (Retry-After) and the same batch sent again, as a terminal
does: skipping it would break the card chains of every later batch. 429s and the seconds waited are reported;
a latency sample is the answer that was not a 429.
"""
import hashlib
import http.client
import json
import struct
import sys
import threading
import time
import urllib.parse

CARDS_PER_BATCH = 50
DEBIT_AMOUNT = 100
SEED_BALANCE = 4_000_000
EVENT_SECONDS = 60


def chain_hash(delta, amount, balance_after, flags, previous):
    message = struct.pack(">III", delta % 2**32, amount, balance_after) + bytes([flags]) + previous
    return hashlib.sha256(message).digest()[:6]


class Card:
    def __init__(self, card_id, start):
        self.card_id, self.counter, self.balance = card_id, 0, SEED_BALANCE
        self.hash, self.time = bytes(6), start

    def debit(self):
        timestamp = self.time + EVENT_SECONDS
        self.balance -= DEBIT_AMOUNT
        self.counter += 1
        self.hash = chain_hash(timestamp - self.time, DEBIT_AMOUNT, self.balance, 1, self.hash)
        self.time = timestamp
        return {"cardId": self.card_id, "counter": self.counter, "type": "debit", "amount": DEBIT_AMOUNT,
                "balanceAfter": self.balance, "timestamp": timestamp, "hash": self.hash.hex()}


def batches_for(terminal_index, terminal_number, count, cards_per_terminal, events_per_batch, start):
    cards = [Card("%012x" % (terminal_index * cards_per_terminal + n), start) for n in range(cards_per_terminal)]
    per_card = max(1, events_per_batch // CARDS_PER_BATCH)
    batches, next_card = [], 0
    for _ in range(count):
        events = []
        while len(events) < events_per_batch:
            card = cards[next_card % len(cards)]
            next_card += 1
            events += [card.debit() for _ in range(min(per_card, events_per_batch - len(events)))]
        batches.append(json.dumps({"terminalId": terminal_number, "events": events}).encode())
    return batches


def login(base, slug, username, password, device_id, secret):
    body = {"tenantSlug": slug, "deviceId": device_id, "deviceSecret": secret, "username": username,
            "password": password, "role": "terminal"}
    status, answer, _ = post(connection(base), "/api/auth/token", json.dumps(body).encode(), None)
    if status != 200:
        sys.exit(f"device login failed: {status} {answer[:200]}")
    return json.loads(answer)["accessToken"]


def connection(base):
    url = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=60)


def post(conn, path, body, token):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Retry-After")


class Upload:
    """One terminal's connection and its rate-limit tally."""

    def __init__(self, base, token):
        self.conn, self.token = connection(base), token
        self.limited, self.waited = 0, 0.0

    def send(self, body):
        """(status, answer, seconds of the answered attempt); a 429 is waited out and the batch sent again."""
        while True:
            began = time.perf_counter()
            status, answer, retry_after = post(self.conn, "/api/reconcile", body, self.token)
            elapsed = time.perf_counter() - began
            if status != 429:
                return status, answer, elapsed
            self.limited += 1
            pause = float(retry_after or 1)
            self.waited += pause
            time.sleep(pause)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    (base, slug, username, password, start, cards_per_terminal, latency_batches, throughput_batches, events_per_batch,
     device_file) = sys.argv[1:11]
    start, cards_per_terminal = int(start), int(cards_per_terminal)
    latency_batches, throughput_batches, events_per_batch = int(latency_batches), int(throughput_batches), int(events_per_batch)
    devices = [line.split() for line in open(device_file) if line.strip()]
    terminals = len(devices)
    per_terminal_latency = -(-latency_batches // terminals)
    batches = [batches_for(index, int(number), per_terminal_latency + throughput_batches, cards_per_terminal,
                           events_per_batch, start) for index, (_, number, _) in enumerate(devices)]
    tokens = [login(base, slug, username, password, device_id, secret) for device_id, _, secret in devices]
    used = [0] * terminals

    # 1. Latency, one request at a time.
    latencies, started, refused = [], [], 0
    uploads = [Upload(base, token) for token in tokens]
    for upload in uploads:
        upload.conn.connect()
    for index in range(latency_batches):
        terminal = index % terminals
        started.append(time.strftime("%H:%M:%S") + f"{time.time() % 1:.3f}"[1:])
        status, answer, elapsed = uploads[terminal].send(batches[terminal][used[terminal]])
        latencies.append(elapsed * 1000)
        used[terminal] += 1
        if status != 200 or json.loads(answer)["accepted"] != events_per_batch:
            refused += 1
            print(f"latency batch {index}: {status} {answer[:200]}", file=sys.stderr)
    if latencies:
        print(f"reconcile {events_per_batch}-event batches: {len(latencies)} sequential, "
              f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, "
              f"max {max(latencies):.1f} ms, {refused} not fully accepted, "
              f"{sum(u.limited for u in uploads)} answered 429 first")
        slowest = sorted(range(len(latencies)), key=lambda i: -latencies[i])[:3]
        print("  slowest batches (index, started: ms): " + ", ".join(f"{i} {started[i]}: {latencies[i]:.1f}" for i in slowest),
              file=sys.stderr)

    # 2. Throughput, every terminal at once, each with a fresh connection opened before the clock starts.
    accepted, rejected, failed = [0] * terminals, [0] * terminals, [0] * terminals
    uploads = [Upload(base, token) for token in tokens]
    for upload in uploads:
        upload.conn.connect()
    failures = []
    barrier = threading.Barrier(terminals + 1)

    def run(terminal):
        barrier.wait()
        for body in batches[terminal][used[terminal]:used[terminal] + throughput_batches]:
            status, answer, _ = uploads[terminal].send(body)
            if status == 200:
                counts = json.loads(answer)
                accepted[terminal] += counts["accepted"]
                rejected[terminal] += counts["rejected"]
            else:
                failed[terminal] += 1
                failures.append(f"{status} {answer[:200]!r}")

    threads = [threading.Thread(target=run, args=(terminal,)) for terminal in range(terminals)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    total = sum(accepted)
    print(f"reconcile throughput: {terminals} terminals x {throughput_batches} batches of {events_per_batch}: "
          f"{total} events accepted in {elapsed:.2f} s = {total / elapsed:,.0f} events/s; "
          f"{sum(rejected)} events rejected, {sum(failed)} batches failed, "
          f"{sum(u.limited for u in uploads)} answers 429 ({sum(u.waited for u in uploads):.0f} s waited)")
    for failure in failures[:3]:
        print(f"  failure: {failure}", file=sys.stderr)


if __name__ == "__main__":
    main()
