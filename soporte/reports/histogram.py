"""Fixed log-spaced buckets for durations (business seconds), so that percentiles over any
date range come from summed per-day counts. Pure Python.

Bucket 0 holds [0, 60 s); bucket k (1 <= k < BUCKETS - 1) holds [60 * R**(k-1), 60 * R**k)
with R = 2 ** (1/3) (three buckets per doubling); the last bucket holds everything from
60 * R**(BUCKETS-2) (about 2,750 business hours, over a year of 9-18 days) upwards.

Error bound: the rank is exact (counts are exact), so the p-th value lies in the bucket
found; the estimate is the bucket's geometric middle lo * R**0.5, within a factor R**0.5 =
2 ** (1/6) of any value of the bucket: at most 12.2 % off. Below a minute the estimate is
30 s (at most 30 s off); in the last, open bucket the estimate is its lower bound (a floor).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BUCKETS = 54
BASE = 60.0
RATIO = 2 ** (1 / 3)
RELATIVE_ERROR = math.sqrt(RATIO) - 1  # 0.1225


def bucket(seconds: float) -> int:
    """The bucket of a duration."""
    if seconds < BASE:
        return 0
    k = int(math.floor(math.log(seconds / BASE) / math.log(RATIO))) + 1
    # Floating point may land a value exactly on a boundary one bucket low or high.
    if seconds < lower(k):
        k -= 1
    elif k + 1 < BUCKETS and seconds >= lower(k + 1):
        k += 1
    return min(k, BUCKETS - 1)


def lower(k: int) -> float:
    return 0.0 if k == 0 else BASE * RATIO ** (k - 1)


def estimate(k: int) -> float:
    """The value reported for a percentile falling in bucket k."""
    if k == 0:
        return BASE / 2
    if k == BUCKETS - 1:
        return lower(k)
    return lower(k) * math.sqrt(RATIO)


def percentile(counts: Sequence[int], p: float) -> float | None:
    """The nearest-rank p-th percentile (0 < p <= 1) of the durations counted, estimated;
    None when nothing was counted."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for k, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return estimate(k)
    return estimate(len(counts) - 1)
