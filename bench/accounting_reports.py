#!/usr/bin/env python3
"""Report latency for bench/accounting.sh: sequential GETs of each report over one keep-alive connection, each
timed from sending the request to the last byte of the answer; prints p50/p99 per report beside the target.

  accounting_reports.py PORT TOKENS_FILE COMPANY_ID CALLS WARMUP AS_OF PERIOD_START PERIOD_END

TOKENS_FILE holds one access token per line (users of the bench organization): calls take them in turn. WHY:
the accounting API limits each user by the organization's tier, and enterprise, the highest, allows 1,000 requests
a minute in bursts of 100 (docs/auth-users.md "Rate limits"); there is no setting to lift it and no per-IP limit,
so a bench that calls faster than that spreads its calls over enough users to stay inside each one's burst.
Any answer other than 200 fails the run (exit 1): a refused call is not a latency.
"""
import json, math, sys, time

from harness import Client  # bench/ is the script's folder, so it is on sys.path

TARGET_P99_MS = 100.0


def percentile(sorted_values, fraction):
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def main():
    port, tokens_file, company, calls, warmup, as_of, start, end = sys.argv[1:9]
    calls, warmup = int(calls), int(warmup)
    tokens = [line.strip() for line in open(tokens_file) if line.strip()]
    reports = [
        ("profit and loss", f"/api/v1/reports/profit-loss?company_id={company}&period_start={start}&period_end={end}", True),
        ("balance sheet", f"/api/v1/reports/balance-sheet?company_id={company}&as_of_date={as_of}", True),
        ("trial balance", f"/api/v1/reports/trial-balance?company_id={company}&as_of_date={as_of}", True),
        ("cash flow", f"/api/v1/reports/cash-flow?company_id={company}&period_start={start}&period_end={end}", False),
    ]
    client = Client(int(port))
    turn = 0
    failed = False
    for name, path, targeted in reports:
        durations = []
        body = None
        for call in range(warmup + calls):
            headers = {"Authorization": f"Bearer {tokens[turn % len(tokens)]}"}
            turn += 1
            began = time.perf_counter()
            status, raw = client.get_raw(path, headers)
            elapsed = time.perf_counter() - began
            if status != 200:
                print(f"{name}: HTTP {status} {raw[:300].decode(errors='replace')}", file=sys.stderr)
                sys.exit(1)
            if call >= warmup:
                durations.append(elapsed * 1000)
            body = raw
        durations.sort()
        p50, p99 = percentile(durations, 0.50), percentile(durations, 0.99)
        answer = json.loads(body)
        checks = " ".join(f"{key}={str(answer[key]).lower()}" for key in ("is_balanced", "is_reconciled") if key in answer)
        total = answer.get("total_debits") or answer.get("total_assets") or answer.get("net_income") or ""
        verdict = (" (target p99 < 100 ms: " + ("met" if p99 < TARGET_P99_MS else "NOT met") + ")") if targeted else " (no target)"
        print(f"{name:16s} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  over {calls} calls{verdict}  {checks} total {total}")
        failed = failed or (answer.get("is_balanced") is False)
    client.close()
    if failed:
        print("a report does not balance", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
