"""Speed of the SLA business-time engine: add_business_seconds on varied tickets.

    .venv/bin/python bench/sla_calendar.py [--calls 300000] [--seed 1]

Recomputing SLA targets for 100,000 open tickets (about 3 targets each) in 10 s leaves
about 33 µs per call; this prints calls/s and µs per call for a Madrid 9-18 office calendar
with holidays, and for the round-the-clock ALWAYS calendar. Starts spread over two years,
targets from 30 minutes to 10 business days, a third of the calls with one to three pauses.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soporte.sla.calendar import (  # noqa: E402
    ALWAYS,
    Calendar,
    add_business_seconds,
    business_seconds,
)

H = 3600
MADRID = Calendar(
    ZoneInfo("Europe/Madrid"),
    (((9 * H, 18 * H),),) * 5 + ((), ()),
    holidays=frozenset({date(2026, 4, 2), date(2026, 4, 3), date(2027, 3, 25), date(2027, 3, 26)}),
    yearly=frozenset({(1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 25)}),
)
TARGETS = [30 * 60, 1 * H, 2 * H, 4 * H, 8 * H, 16 * H, 24 * H, 40 * H, 90 * H]


def workload(calls: int, seed: int) -> list[tuple[datetime, int, list]]:
    rng = random.Random(seed)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    work = []
    for _ in range(calls):
        start = first + timedelta(seconds=rng.randrange(2 * 365 * 86_400))
        pauses = []
        if rng.random() < 1 / 3:
            at = start
            for _ in range(rng.randint(1, 3)):
                at += timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
                pauses.append((at, at + timedelta(minutes=rng.randrange(5, 24 * 60))))
        work.append((start, rng.choice(TARGETS), pauses))
    return work


def measure(name: str, calendar: Calendar, work: list[tuple[datetime, int, list]]) -> None:
    began = time.perf_counter()
    for start, seconds, pauses in work:
        add_business_seconds(calendar, start, seconds, pauses)
    elapsed = time.perf_counter() - began
    calls = len(work)
    print(
        f"{name:<28} {calls:>8,} calls  {elapsed:6.2f} s  "
        f"{calls / elapsed:>10,.0f} calls/s  {elapsed / calls * 1e6:6.2f} µs/call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    work = workload(args.calls, args.seed)
    no_pauses = [(start, seconds, []) for start, seconds, _ in work]
    long_targets = [(start, 400 * H, pauses) for start, _, pauses in work[: args.calls // 10]]

    # A sanity check that the engine answers what the bench asks.
    start, seconds, pauses = work[0]
    due = add_business_seconds(MADRID, start, seconds, pauses)
    assert due is not None and business_seconds(MADRID, start, due, pauses) == seconds

    measure("Madrid 9-18, with pauses", MADRID, work)
    measure("Madrid 9-18, no pauses", MADRID, no_pauses)
    measure("Madrid 9-18, 400 h targets", MADRID, long_targets)
    measure("ALWAYS, with pauses", ALWAYS, work)


if __name__ == "__main__":
    main()
