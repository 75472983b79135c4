"""Percentiles from log-spaced buckets stay within the documented error bound of the exact
nearest-rank percentile."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from soporte.reports import histogram

DURATIONS = st.lists(st.integers(0, 40_000_000), min_size=1, max_size=200)


def exact(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


@given(values=DURATIONS, p=st.sampled_from([0.5, 0.9, 0.99]))
def test_the_estimate_is_within_the_error_bound(values, p):
    counts = [0] * histogram.BUCKETS
    for value in values:
        counts[histogram.bucket(value)] += 1

    estimate = histogram.percentile(counts, p)
    true = exact(values, p)

    if true < histogram.BASE:
        assert abs(estimate - true) <= histogram.BASE / 2
    elif true >= histogram.lower(histogram.BUCKETS - 1):
        assert estimate == histogram.lower(histogram.BUCKETS - 1) <= true  # a floor
    else:
        assert abs(estimate - true) <= histogram.RELATIVE_ERROR * true + 1e-9


@given(st.integers(0, 10**9))
def test_every_duration_falls_inside_its_bucket(seconds):
    k = histogram.bucket(seconds)
    assert histogram.lower(k) <= seconds
    if k + 1 < histogram.BUCKETS:
        assert seconds < histogram.lower(k + 1)


def test_nothing_counted_has_no_percentile():
    assert histogram.percentile([0] * histogram.BUCKETS, 0.5) is None
