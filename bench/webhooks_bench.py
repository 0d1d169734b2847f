#!/usr/bin/env python3
"""Webhook delivery throughput and latency with a local receiver (issue 13 "Performance"), run by
bench/webhooks.sh. Reuses bench/webhooks_crash.py's harness: a private PostgreSQL cluster, `atlas serve`, the
Python receiver, ENDPOINTS endpoints (one event type each). Appends EVENTS events to the event log in batches of
BATCH_EVENTS at RATE events/s, each stamped with its append time, and reports:

  * commit-to-first-attempt latency (receiver's arrival time minus the event's append time, `Atlas-Delivery: 1`):
    p50, p99, max — the target is p99 < 250 ms;
  * deliveries/s from the first append to the last arrival — the target is >= 2,000/s sustained.

Each batch is one transaction that also sends `NOTIFY atlas_event_log`, as every Atlas instance does after it appends
(EventLogWakeUps, at most once per 50 ms): without it the consumers found the bench's events only at their 1 s
poll, which alone put about 0.8 s into every latency.

Usage: bench/webhooks_bench.py path/to/atlas   env: EVENTS=20000 RATE=2500 BATCH_EVENTS=250 ENDPOINTS=16
The receiver is one Python process: on a small machine it, not Atlas, may be the limit (the output says how busy
it was). Figures from a shared machine are not results.
"""
import base64, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("WEBHOOK_CRASH_ENDPOINTS", os.environ.get("ENDPOINTS", "16"))
import webhooks_crash as harness  # noqa: E402  (the shared harness; importing only makes its work folder)

EVENTS = int(os.environ.get("EVENTS", "20000"))
RATE = float(os.environ.get("RATE", "2500"))
BATCH_EVENTS = int(os.environ.get("BATCH_EVENTS", "250"))
ENDPOINTS = harness.ENDPOINTS


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def main():
    atlas = sys.argv[1]
    url, _, log_path, receiver, _, _, merchant, mode = harness.setup(atlas, ENDPOINTS)
    receiver_cpu_before = cpu_seconds(receiver.pid)
    started = time.time()
    for start in range(0, EVENTS, BATCH_EVENTS):
        end = min(EVENTS, start + BATCH_EVENTS)
        harness.psql(url, f"""INSERT INTO event_log (event_id, event_type, merchant_id, mode, resource_id, payload, occurred_at)
            SELECT 'evt_' || lpad(g::text, 26, '0'), 'crash.t' || (g % {ENDPOINTS}), '{merchant}', '{mode}', 'res' || g,
                   jsonb_build_object('appendedAt', extract(epoch FROM clock_timestamp())), now()
            FROM generate_series({start + 1}, {end}) g;
            NOTIFY atlas_event_log""")
        pause = started + end / RATE - time.time()
        if pause > 0:
            time.sleep(pause)
    appended = time.time()
    received = harness.Received(log_path)
    if not harness.wait_for(received, EVENTS, appended + 120):
        print(f"FAIL only {len(received())} of {EVENTS} events arrived within 120 s of the last append")
        sys.exit(1)
    latencies, last_arrival = [], 0.0
    with open(log_path) as log:
        for line in log:
            record = json.loads(line)
            headers = {name.lower(): value for name, value in record["headers"]}
            last_arrival = max(last_arrival, record["received"])
            if headers.get("atlas-delivery") == "1":
                appended_at = json.loads(base64.b64decode(record["body"]))["data"]["appendedAt"]
                latencies.append((record["received"] - float(appended_at)) * 1000)
    elapsed = last_arrival - started
    receiver_busy = (cpu_seconds(receiver.pid) - receiver_cpu_before) / elapsed if elapsed > 0 else 0
    print(f"events {EVENTS} to {ENDPOINTS} endpoints, offered {RATE:.0f}/s in batches of {BATCH_EVENTS}")
    print(f"deliveries/s {EVENTS / elapsed:.0f} (first append to last arrival, {elapsed:.1f} s)")
    print(f"commit-to-first-attempt ms: p50 {percentile(latencies, 0.5):.1f}, p99 {percentile(latencies, 0.99):.1f}, "
          f"max {max(latencies):.1f}")
    print(f"receiver CPU busy {receiver_busy * 100:.0f}% of one core (near 100%: the receiver is the limit)")
    print_stages(url)
    if os.environ.get("STATEMENTS"):
        print_statements(url)


def print_stages(url):
    """Where the first attempts' time went, from Atlas's own rows: the event's append to its fan-out (delivery row
    created), the fan-out to the attempt's start (claim and the endpoint's queue), the attempt's own latency."""
    rows = harness.psql(url, """
        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY fan)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY fan)::numeric, 1),
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY queued)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY queued)::numeric, 1),
               round(percentile_cont(0.5) WITHIN GROUP (ORDER BY sent)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY sent)::numeric, 1)
        FROM (SELECT extract(epoch FROM d.created_at) * 1000 - (e.payload->>'appendedAt')::float8 * 1000 AS fan,
                     extract(epoch FROM a.started_at - d.created_at) * 1000 AS queued, a.latency_ms AS sent
              FROM webhooks_deliveries d JOIN webhooks_events e USING (event_id)
              JOIN webhooks_attempts a ON a.delivery_id = d.id AND a.attempt = 1) stages""")
    if rows:
        fan50, fan99, queued50, queued99, sent50, sent99 = rows[0]
        print(f"stages p50 / p99 ms: append to fan-out {fan50} / {fan99}, fan-out to attempt start {queued50} / {queued99}, "
              f"attempt {sent50} / {sent99}")


def print_statements(url):
    """Diagnostics (`STATEMENTS=1` with `PG_LOCAL_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements"`): the
    statements that took the most time in PostgreSQL during the run."""
    harness.psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    for total, calls, mean, query in harness.psql(url, """
            SELECT round(total_exec_time::numeric), calls, round(mean_exec_time::numeric, 2),
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 100)
            FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15"""):
        print(f"  {total:>7} ms {calls:>7} calls {mean:>8} ms each  {query}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
