#!/usr/bin/env python3
"""Summaries of a sampler file written by scripts/lib/bench.sh `bench_sampler_start` (one line per 100 ms:
"epoch|backends waiting on a heavyweight lock|their wait events|progress counter").

  ledger_samples.py locks FILE FROM TO         lock waits seen between the epochs FROM and TO
  ledger_samples.py drain FILE OPENED CAUGHT   postings/s of a backlog drain: the progress counter (journal entries
                                               numbered so far) from the first sample after OPENED that moved to the
                                               first that reached its value at CAUGHT; the mean, and the slowest and
                                               median full second
  ledger_samples.py finished FILE CAUGHT       the epoch of the first sample whose counter had its value at CAUGHT
                                               (when the last posting committed, to 100 ms; CAUGHT is polled coarser)
"""
import statistics, sys


def samples(path):
    rows = []
    for line in open(path):
        fields = line.rstrip("\n").split("|")
        if len(fields) != 4 or not fields[0]:
            continue
        rows.append((float(fields[0]), int(fields[1]), fields[2], int(fields[3]) if fields[3] else 0))
    return rows


def locks(path, start, end):
    window = [row for row in samples(path) if start <= row[0] <= end]
    waiting = [row for row in window if row[1] > 0]
    events = sorted({event for row in waiting for event in row[2].split("+") if event})
    print(f"lock waits     {len(waiting)} of {len(window)} samples (every 100 ms) saw a backend waiting on a lock; "
          f"max {max((row[1] for row in window), default=0)} at once; wait events: {', '.join(events) or 'none'}")


def progress_at(rows, moment):
    """The counter at `moment`: the last sample taken at or before it."""
    value = rows[0][3]
    for row in rows:
        if row[0] > moment:
            break
        value = row[3]
    return value


def finished_at(rows, caught):
    """The first sample at which the counter had reached its value at `caught`."""
    final = progress_at(rows, caught)
    return next(row[0] for row in rows if row[3] >= final)


def finished(path, caught):
    print(f"{min(finished_at(samples(path), caught), caught):.3f}")


def drain(path, opened, caught):
    rows = samples(path)
    before = progress_at(rows, opened)
    moving = [row for row in rows if row[0] >= opened and row[3] > before]
    if not moving:
        print("drain          no progress was sampled")
        return
    began, first_value = moving[0][0], moving[0][3]
    caught = min(finished_at(rows, caught), caught)
    final = progress_at(rows, caught)
    print(f"drain          {final - before} entries, the first seen {began - opened:.2f} s after the gate opened, "
          f"the last {caught - began:.2f} s later")
    if caught - began < 1:
        print("postings/s     (the drain lasted under a second: too short to measure)")
        return
    # From the first sample that saw postings to the first that saw them all: entries committed in between.
    print(f"postings/s     {(final - first_value) / (caught - began):10.1f}  (mean over the drain; target >= 5,000 sustained)")
    seconds = []
    moment = began
    while moment + 1 <= caught:
        seconds.append(progress_at(rows, moment + 1) - progress_at(rows, moment))
        moment += 1
    if seconds:
        print(f"per second     slowest {min(seconds)}, median {statistics.median(seconds):.0f}, fastest {max(seconds)} "
              f"entries ({len(seconds)} full seconds)")


if __name__ == "__main__":
    command, path, moments = sys.argv[1], sys.argv[2], [float(value) for value in sys.argv[3:]]
    {"locks": locks, "drain": drain, "finished": finished}[command](path, *moments)
