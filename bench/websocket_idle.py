#!/usr/bin/env python3
"""Opens N idle WebSocket sessions to atlas-httpbench's /ws (raw asyncio, a few KB per session), prints the
server's RSS, then (optionally) measures fan-out latency: one session sends the trigger (MODE, "broadcast" by
default; see Apps/atlas-httpbench), the server stamps CLOCK_MONOTONIC and sends it to every session; each records
receive time minus stamp (same host, same clock). bench/websocket.sh measures fan-out with the compiled client
(bench/ws_fanout.c) and runs this one's fan-out only as a cross-check: receiving 1,000 frames in Python costs tens
of milliseconds, which this figure includes.

Usage: websocket_idle.py PORT SERVER_PID [sessions=10000] [fanout_sessions=1000] [rounds=20] [mode=broadcast]
"""
import asyncio, base64, json, os, sys, time


async def open_session(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head[:40])
    return reader, writer


def masked_text(text):
    payload = text.encode()
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_frame(reader):
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(length)


def stamp(payload):
    """The server's CLOCK_MONOTONIC stamp: the whole text, or a JSON event's "sentAt"."""
    return json.loads(payload)["sentAt"] if payload.startswith(b"{") else int(payload)


def server_rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    fanout = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 20
    mode = sys.argv[6] if len(sys.argv) > 6 else "broadcast"
    baseline = server_rss_mb(pid)
    sessions = []
    started = time.monotonic()
    for batch in range(0, count, 200):
        sessions += await asyncio.gather(*(open_session(port) for _ in range(min(200, count - batch))))
    opened = time.monotonic() - started
    await asyncio.sleep(2)
    rss = server_rss_mb(pid)
    print(f"sessions={len(sessions)} open_seconds={opened:.1f} server_rss_mb={rss:.1f} "
          f"baseline_rss_mb={baseline:.1f} per_session_kb={(rss - baseline) * 1024 / max(1, len(sessions)):.2f}")
    if fanout > 0:
        # Close all but `fanout` sessions, then broadcast through the first one.
        for _, writer in sessions[fanout:]:
            writer.close()
        sessions = sessions[:fanout]
        await asyncio.sleep(1)
        latencies = []
        for _ in range(rounds):
            sessions[0][1].write(masked_text(mode))
            frames = await asyncio.gather(*(read_frame(reader) for reader, _ in sessions))
            now = time.monotonic_ns()
            latencies += [(now - stamp(payload)) / 1e6 for _, payload in frames]
            await asyncio.sleep(0.05)
        latencies.sort()
        pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"client=python mode=\"{mode}\" fanout_sessions={len(sessions)} rounds={rounds} p50_ms={pick(0.5):.2f} p99_ms={pick(0.99):.2f} "
              f"max_ms={latencies[-1]:.2f}")
    for _, writer in sessions:
        writer.close()


asyncio.run(main())
