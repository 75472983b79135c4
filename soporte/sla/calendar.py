"""Business time for SLA clocks: exact, DST-aware, pure Python (no Django).

A UTC instant is business time when, read on the calendar's wall clock (zoneinfo, fold-aware),
its local date is not a holiday and its local time of day falls in [start, end) of one of that
weekday's shifts. So a shift hour skipped by a spring-forward change counts nothing and an hour
repeated by a fall-back change counts twice. Pauses are UTC intervals [start, end) during
which the clock stops.

Internally every instant is an integer of microseconds since the Unix epoch, so results are
exact; business seconds are floored only at the end.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

__all__ = ["ALWAYS", "Calendar", "add_business_seconds", "business_seconds"]

DAY = 86_400
US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Business intervals are built lazily per UTC chunk of this many days: large enough that a
# target of weeks skips whole chunks in one step, small enough that building one is cheap.
CHUNK_DAYS = 28
CHUNK_US = CHUNK_DAYS * DAY * US
# Offsets are sampled this often to find DST transitions. Since 1970 no zone in tzdata has
# two offset changes less than 7 days apart, so none can hide between two samples.
PROBE_SECONDS = 6 * 3600
# With no business time at all in this long, the clock is taken to never reach its target.
SEARCH_CAP_US = 366 * 8 * DAY * US
# An open-ended pause ends here: beyond any datetime (year 9999 is about 2.5e17 µs).
FOREVER = 1 << 62
MAX_CACHED_CHUNKS = 4096

Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Calendar:
    """Working hours in one time zone.

    `week` has 7 entries, Monday first; each is a tuple of (start, end) wall-clock times in
    seconds after local midnight, sorted and non-overlapping, with 0 <= start < end <= 86400;
    an empty tuple is a closed day. `holidays` are closed local dates; `yearly` are
    (month, day) pairs closed every year ((2, 29) only matches leap years).
    """

    tz: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = frozenset()
    yearly: frozenset[tuple[int, int]] = frozenset()
    # Hashing the nested week tuple on every cache lookup would cost more than the lookup.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tz, ZoneInfo):
            raise ValueError(f"tz must be a zoneinfo.ZoneInfo, not {type(self.tz).__name__}")
        week = _validated_week(self.week)
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holiday {day!r} is not a date")
        yearly = frozenset(self.yearly)
        for md in yearly:
            if not (
                isinstance(md, tuple)
                and len(md) == 2
                and all(_is_int(x) for x in md)
                and _valid_month_day(*md)
            ):
                raise ValueError(f"yearly holiday {md!r} is not a valid (month, day)")
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "yearly", yearly)
        object.__setattr__(self, "_hash", hash((self.tz, week, holidays, yearly)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Calendar], tuple[object, ...]]:
        # Rebuild through __init__ so the cached hash is recomputed in the new process.
        return (Calendar, (self.tz, self.week, self.holidays, self.yearly))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_month_day(month: int, day: int) -> bool:
    try:
        date(2000, month, day)  # a leap year, so (2, 29) is valid
    except ValueError:
        return False
    return True


def _validated_week(week: Iterable[Iterable[Any]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    try:
        days = [list(day) for day in week]
    except TypeError:
        raise ValueError("week must be a sequence of 7 days of (start, end) shifts") from None
    if len(days) != 7:
        raise ValueError(f"week must have 7 days (Monday to Sunday), got {len(days)}")
    result = []
    for day_name, shifts in zip(DAY_NAMES, days, strict=True):
        previous_end = 0
        checked = []
        for shift in shifts:
            try:
                start, end = shift
            except (TypeError, ValueError):
                raise ValueError(
                    f"{day_name}: shift {shift!r} is not a (start, end) pair"
                ) from None
            if not (_is_int(start) and _is_int(end)):
                raise ValueError(f"{day_name}: shift {shift!r} must be whole seconds")
            if not 0 <= start < end <= DAY:
                raise ValueError(
                    f"{day_name}: shift {shift!r} must satisfy 0 <= start < end <= {DAY}"
                )
            if start < previous_end:
                raise ValueError(f"{day_name}: shift {shift!r} overlaps or is out of order")
            previous_end = end
            checked.append((start, end))
        result.append(tuple(checked))
    return tuple(result)


ALWAYS = Calendar(ZoneInfo("UTC"), (((0, DAY),),) * 7)


class _Chunk(NamedTuple):
    """Business intervals of one UTC chunk, in µs, sorted, with running totals."""

    starts: list[int]
    ends: list[int]
    done_before: list[int]  # business µs in the chunk before interval i starts
    done_after: list[int]  # ... and once it ends
    total: int


class _Engine:
    """Data derived from one calendar, built lazily and kept while the calendar is cached."""

    __slots__ = ("always", "calendar", "chunks", "closed_dates", "never")

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        has_holidays = bool(calendar.holidays or calendar.yearly)
        # Open round the clock every day: every instant counts whatever the time zone.
        self.always = not has_holidays and all(day == ((0, DAY),) for day in calendar.week)
        self.never = not any(calendar.week)
        self.closed_dates = has_holidays
        self.chunks: dict[int, _Chunk] = {}

    def chunk(self, index: int) -> _Chunk:
        found = self.chunks.get(index)
        if found is None:
            if len(self.chunks) >= MAX_CACHED_CHUNKS:
                self.chunks.clear()
            found = self.chunks[index] = self._build(index)
        return found

    def _build(self, index: int) -> _Chunk:
        """1. Split the chunk into stretches of constant UTC offset.
        2. In each stretch local time is UTC plus the offset, so walk its local days and
           map every open shift back to UTC, clipped to the stretch.
        """
        cal = self.calendar
        first = index * CHUNK_DAYS * DAY
        starts: list[int] = []
        ends: list[int] = []
        for a, b, offset in _stretches(cal.tz, first, first + CHUNK_DAYS * DAY):
            local_a, local_b = a + offset, b + offset
            for n in range(local_a // DAY, (local_b - 1) // DAY + 1):
                shifts = cal.week[(n + EPOCH_WEEKDAY) % 7]
                if not shifts:
                    continue
                if self.closed_dates:
                    day = date.fromordinal(EPOCH_ORDINAL + n)
                    if day in cal.holidays or (day.month, day.day) in cal.yearly:
                        continue
                midnight = n * DAY
                for shift_start, shift_end in shifts:
                    lo = max(midnight + shift_start, local_a) - offset
                    hi = min(midnight + shift_end, local_b) - offset
                    if lo >= hi:
                        continue
                    if ends and ends[-1] == lo * US:
                        ends[-1] = hi * US  # e.g. midnight between two open days
                    else:
                        starts.append(lo * US)
                        ends.append(hi * US)
        done_before: list[int] = []
        done_after: list[int] = []
        total = 0
        for lo, hi in zip(starts, ends, strict=True):
            done_before.append(total)
            total += hi - lo
            done_after.append(total)
        return _Chunk(starts, ends, done_before, done_after, total)

    def business(self, a: int, b: int) -> int:
        """Business µs in [a, b), a <= b."""
        if self.always:
            return b - a
        ka, kb = a // CHUNK_US, b // CHUNK_US
        first = self.chunk(ka)
        if ka == kb:
            return _done(first, b) - _done(first, a)
        total = first.total - _done(first, a)
        for k in range(ka + 1, kb):
            total += self.chunk(k).total
        return total + _done(self.chunk(kb), b)

    def advance(self, p: int, need: int, stop: int) -> tuple[int | None, int]:
        """Earliest t in (p, stop] with `need` business µs in [p, t), as (t, 0); if there is
        none, (None, the µs still needed at stop). need > 0."""
        if self.always:
            if stop - p < need:
                return None, need - (stop - p)
            return p + need, 0
        k = p // CHUNK_US
        chunk = self.chunk(k)
        base = _done(chunk, p)
        last_seen = p
        while True:
            chunk_end = (k + 1) * CHUNK_US
            if stop <= chunk_end:
                available = _done(chunk, stop) - base
                if available < need:
                    return None, need - available
                return _locate(chunk, base + need), 0
            if base + need <= chunk.total:
                return _locate(chunk, base + need), 0
            if chunk.total > base:
                need -= chunk.total - base
                last_seen = chunk_end
            elif chunk_end - last_seen > SEARCH_CAP_US:
                return None, need
            k += 1
            chunk = self.chunk(k)
            base = 0


def _done(chunk: _Chunk, t: int) -> int:
    """Business µs in the chunk before instant t."""
    i = bisect_right(chunk.starts, t) - 1
    if i < 0:
        return 0
    return chunk.done_before[i] + min(t, chunk.ends[i]) - chunk.starts[i]


def _locate(chunk: _Chunk, amount: int) -> int:
    """The earliest instant with `amount` business µs of the chunk before it (amount > 0)."""
    i = bisect_left(chunk.done_after, amount)
    return chunk.starts[i] + amount - chunk.done_before[i]


def _offset(tz: ZoneInfo, seconds: int) -> int:
    delta = (EPOCH + timedelta(seconds=seconds)).astimezone(tz).utcoffset()
    assert delta is not None
    return delta.days * DAY + delta.seconds


def _stretches(tz: ZoneInfo, first: int, last: int) -> list[tuple[int, int, int]]:
    """[(a, b, offset)] covering UTC seconds [first, last), each with a constant offset."""
    result = []
    a, offset = first, _offset(tz, first)
    probe = first
    while probe < last:
        following = min(probe + PROBE_SECONDS, last - 1)
        if following <= probe:
            break
        new_offset = _offset(tz, following)
        if new_offset != offset:
            # Bisect to the first second on the new offset (transitions are whole seconds).
            lo, hi = probe, following
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(tz, mid) == offset:
                    lo = mid
                else:
                    hi = mid
            result.append((a, hi, offset))
            a, offset = hi, new_offset
        probe = following
    result.append((a, last, offset))
    return result


@lru_cache(maxsize=256)
def _engine(calendar: Calendar) -> _Engine:
    return _Engine(calendar)


def _micros(moment: datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    delta = moment - EPOCH
    return (delta.days * DAY + delta.seconds) * US + delta.microseconds


def _merged_pauses(pauses: Sequence[Pause]) -> list[tuple[int, int]]:
    """Pauses in µs, sorted, overlapping or touching ones merged; open ends become FOREVER."""
    spans = []
    for pause_start, pause_end in pauses:
        a = _micros(pause_start, "pause start")
        b = FOREVER if pause_end is None else _micros(pause_end, "pause end")
        if b < a:
            raise ValueError(f"pause ends before it starts: {pause_start!r} > {pause_end!r}")
        if a < b:
            spans.append((a, b))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def business_seconds(
    cal: Calendar, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
) -> int:
    """Business seconds in [start, end) outside every pause (floored); 0 if end <= start.

    A pause whose end is None lasts until `end`.
    """
    a, b = _micros(start, "start"), _micros(end, "end")
    merged = _merged_pauses(pauses) if pauses else ()
    if b <= a:
        return 0
    engine = _engine(cal)
    if engine.never:
        return 0
    total = engine.business(a, b)
    for pause_start, pause_end in merged:
        lo, hi = max(pause_start, a), min(pause_end, b)
        if lo < hi:
            total -= engine.business(lo, hi)
    return total // US


def add_business_seconds(
    cal: Calendar, start: datetime, seconds: int, pauses: Sequence[Pause] = ()
) -> datetime | None:
    """The earliest instant t >= start (in UTC) with business_seconds(cal, start, t, pauses)
    == seconds; start itself when seconds is 0. None when the clock never gets there: an
    open-ended pause (end None) stops it for good, or there is no business time for 8 years.
    """
    p = _micros(start, "start")
    if not _is_int(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a non-negative int, got {seconds!r}")
    merged = _merged_pauses(pauses) if pauses else ()
    if seconds == 0:
        return start.astimezone(UTC)
    engine = _engine(cal)
    if engine.never:
        return None
    need = seconds * US
    for pause_start, pause_end in merged:
        if pause_end <= p:
            continue
        if pause_start > p:
            found, need = engine.advance(p, need, pause_start)
            if found is not None:
                return EPOCH + timedelta(microseconds=found)
        if pause_end == FOREVER:
            return None
        p = pause_end
    found, _ = engine.advance(p, need, FOREVER)
    return None if found is None else EPOCH + timedelta(microseconds=found)
