"""The business-time engine against a brute-force reference, and worked examples.

The reference walks UTC minute by minute and reads each minute on the calendar's wall clock,
exactly as the definition says. Calendars, starts and pauses are minute-aligned, and every
offset in the zones used is a whole number of minutes, so each minute is entirely business
time or entirely not and counting minutes is exact.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.sla.calendar import ALWAYS, Calendar, add_business_seconds, business_seconds

H = 3600
MINUTE = timedelta(minutes=1)
MADRID = ZoneInfo("Europe/Madrid")
ZONES = [
    "America/Argentina/Buenos_Aires",
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "America/Santiago",
]
NINE_TO_SIX = ((9 * H, 18 * H),)
WEEKDAYS_NINE_TO_SIX = (NINE_TO_SIX,) * 5 + ((), ())
SPLIT_SHIFT = ((9 * H, 13 * H), (14 * H, 18 * H))

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def madrid(*args: int) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(**overrides) -> Calendar:
    """Madrid, 9 to 18 Monday to Friday, unless overridden."""
    overrides.setdefault("tz", MADRID)
    overrides.setdefault("week", WEEKDAYS_NINE_TO_SIX)
    return Calendar(**overrides)


# -- The reference ---------------------------------------------------------------------------


def is_business(cal: Calendar, moment: datetime) -> bool:
    local = moment.astimezone(cal.tz)
    day = local.date()
    if day in cal.holidays or (day.month, day.day) in cal.yearly:
        return False
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(start <= second < end for start, end in cal.week[local.weekday()])


def counted_minutes(cal: Calendar, start: datetime, minutes: int, pauses) -> list[bool]:
    """Whether each minute from start counts: business time and inside no pause."""
    counted = []
    for k in range(minutes):
        moment = start + k * MINUTE
        paused = any(ps <= moment and (pe is None or moment < pe) for ps, pe in pauses)
        counted.append(not paused and is_business(cal, moment))
    return counted


@lru_cache
def transitions_2026(zone: str) -> list[datetime]:
    """The hours of 2026 (UTC) just after the zone's offset changed."""
    tz = ZoneInfo(zone)
    found = []
    moment = utc(2026, 1, 1)
    offset = moment.astimezone(tz).utcoffset()
    while moment.year == 2026:
        moment += timedelta(hours=1)
        new_offset = moment.astimezone(tz).utcoffset()
        if new_offset != offset:
            found.append(moment)
            offset = new_offset
    return found


# -- Strategies ------------------------------------------------------------------------------

minute_of_day = st.integers(0, 24 * 60)


@st.composite
def day_shifts(draw) -> tuple[tuple[int, int], ...]:
    kind = draw(st.sampled_from(["closed", "full", "random", "random", "random"]))
    if kind == "closed":
        return ()
    if kind == "full":
        return ((0, 86_400),)
    count = draw(st.integers(1, 3))
    bounds = sorted(draw(st.sets(minute_of_day, min_size=2 * count, max_size=2 * count)))
    return tuple((bounds[i] * 60, bounds[i + 1] * 60) for i in range(0, 2 * count, 2))


@st.composite
def scenarios(draw, open_ended_pauses: bool = True):
    """(calendar, start, minutes, pauses): a minute-aligned window and what happens in it."""
    zone = draw(st.sampled_from(ZONES))
    near_transition = draw(st.booleans()) and transitions_2026(zone)
    if near_transition:
        start = (
            draw(st.sampled_from(transitions_2026(zone)))
            - draw(st.integers(0, 3 * 24 * 60)) * MINUTE
        )
    else:
        start = utc(2025, 1, 1) + draw(st.integers(0, 3 * 365 * 24 * 60)) * MINUTE
    minutes = draw(st.one_of(st.integers(0, 4 * 24 * 60), st.integers(0, 21 * 24 * 60)))

    # Holidays are drawn from the dates the window touches, so they matter.
    window_days = minutes // (24 * 60) + 3
    first_day = start.date() - timedelta(days=1)
    dates = [first_day + timedelta(days=i) for i in range(window_days)]
    holidays = draw(st.frozensets(st.sampled_from(dates), max_size=3))
    yearly = draw(
        st.frozensets(st.sampled_from([(d.month, d.day) for d in dates] + [(2, 29)]), max_size=2)
    )
    cal = Calendar(
        ZoneInfo(zone),
        tuple(draw(day_shifts()) for _ in range(7)),
        holidays=holidays,
        yearly=yearly,
    )

    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        pause_start = start + draw(st.integers(-24 * 60, minutes + 60)) * MINUTE
        if open_ended_pauses and draw(st.integers(0, 9)) == 0:
            pauses.append((pause_start, None))
        else:
            pauses.append((pause_start, pause_start + draw(st.integers(0, 3 * 24 * 60)) * MINUTE))
    return cal, start, minutes, pauses


# -- Properties ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_business_seconds_match_the_minute_by_minute_reference(scenario, data):
    cal, start, minutes, pauses = scenario
    counted = counted_minutes(cal, start, minutes, pauses)
    end = start + minutes * MINUTE

    assert business_seconds(cal, start, end, pauses) == 60 * sum(counted)

    # Any sub-range, also seen from another time zone, with and without the pauses.
    done = [0, *accumulate(counted)]
    i = data.draw(st.integers(0, minutes))
    j = data.draw(st.integers(i, minutes))
    elsewhere = ZoneInfo(data.draw(st.sampled_from(ZONES)))
    a, b = (start + i * MINUTE).astimezone(elsewhere), start + j * MINUTE
    assert business_seconds(cal, a, b, pauses) == 60 * (done[j] - done[i])
    assert business_seconds(cal, b, a, pauses) == 0
    if not pauses:
        assert business_seconds(cal, a, b) == 60 * (done[j] - done[i])


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_adding_business_seconds_lands_on_the_reference_minute(scenario, data):
    cal, start, minutes, pauses = scenario
    counted = counted_minutes(cal, start, minutes, pauses)
    reachable = sum(counted)
    target_minutes = data.draw(st.integers(0, reachable + 60))
    # Seconds short of a whole minute end inside the last minute, linearly.
    short = data.draw(st.integers(0, 59)) if target_minutes else 0
    target = 60 * target_minutes - short

    due = add_business_seconds(cal, start, target, pauses)

    if target == 0:
        assert due == start and due.tzinfo is UTC
        return
    if target_minutes <= reachable:
        index = [k for k, c in enumerate(counted) if c][target_minutes - 1]
        assert due == start + (index + 1) * MINUTE - timedelta(seconds=short)
    elif any(pe is None and ps < start + minutes * MINUTE for ps, pe in pauses):
        assert due is None  # stopped for good before the target
        return
    else:
        assert due is None or due > start + minutes * MINUTE
        if due is None:
            return
    assert due.tzinfo is UTC
    assert business_seconds(cal, start, due, pauses) == target
    assert business_seconds(cal, start, due - MINUTE, pauses) < target


@PROPERTY_SETTINGS
@given(scenarios(open_ended_pauses=False))
def test_adding_the_business_time_of_a_range_stops_within_it(scenario):
    cal, start, minutes, pauses = scenario
    end = start + minutes * MINUTE
    elapsed = business_seconds(cal, start, end, pauses)

    due = add_business_seconds(cal, start, elapsed, pauses)

    assert due is not None and start <= due <= end
    assert business_seconds(cal, start, due, pauses) == elapsed
    assert business_seconds(cal, due, end, pauses) == 0
    # Splitting a range anywhere splits its business time.
    assert business_seconds(cal, start, due, pauses) + business_seconds(
        cal, due, end, pauses
    ) == business_seconds(cal, start, end, pauses)


# -- Worked examples -------------------------------------------------------------------------


def test_a_ticket_opened_friday_evening_with_8_business_hours_is_due_monday_afternoon():
    # Friday 17:30-18:00 gives half an hour; Monday 9:00-16:30 the other 7.5.
    due = add_business_seconds(office(), madrid(2026, 3, 6, 17, 30), 8 * H)

    assert due == madrid(2026, 3, 9, 16, 30)
    assert due.tzinfo is UTC


def test_a_ticket_opened_friday_evening_with_16_business_hours_is_due_tuesday():
    due = add_business_seconds(office(), madrid(2026, 3, 6, 17, 30), 16 * H)

    assert due == madrid(2026, 3, 10, 15, 30)


def test_a_ticket_opened_on_saturday_starts_counting_on_monday_morning():
    due = add_business_seconds(office(), madrid(2026, 3, 7, 11, 0), 1 * H)

    assert due == madrid(2026, 3, 9, 10, 0)


def test_a_target_ending_at_closing_time_is_due_at_closing_not_next_morning():
    due = add_business_seconds(office(), madrid(2026, 3, 9, 9, 0), 9 * H)

    assert due == madrid(2026, 3, 9, 18, 0)


def test_holidays_are_skipped():
    cal = office(holidays=frozenset({date(2026, 3, 9)}))

    due = add_business_seconds(cal, madrid(2026, 3, 6, 17, 30), 8 * H)

    assert due == madrid(2026, 3, 10, 16, 30)
    assert business_seconds(cal, madrid(2026, 3, 9), madrid(2026, 3, 10)) == 0


def test_yearly_holidays_close_the_same_day_every_year():
    cal = office(yearly=frozenset({(12, 25), (1, 1)}))

    # Thursday Dec 24 17:00: one hour, Christmas Friday closed, then Monday 9:00-12:00.
    assert add_business_seconds(cal, madrid(2026, 12, 24, 17), 4 * H) == madrid(2026, 12, 28, 12)
    # Christmas 2027 is a Saturday anyway; New Year's Day 2027 is a Friday.
    assert business_seconds(cal, madrid(2026, 12, 31), madrid(2027, 1, 4)) == 9 * H
    assert business_seconds(cal, madrid(2027, 12, 31), madrid(2028, 1, 1)) == 9 * H


def test_a_february_29_yearly_holiday_only_closes_leap_days():
    cal = office(yearly=frozenset({(2, 29)}))

    # 2027 has no Feb 29: Mon Mar 1 is a working day. 2028's Feb 29 is a Tuesday.
    assert business_seconds(cal, madrid(2027, 2, 28), madrid(2027, 3, 2)) == 9 * H
    assert business_seconds(cal, madrid(2028, 2, 28), madrid(2028, 3, 2)) == 18 * H


def test_a_split_shift_skips_the_lunch_break():
    cal = office(week=(SPLIT_SHIFT,) * 5 + ((), ()))

    assert add_business_seconds(cal, madrid(2026, 3, 9, 12, 30), 1 * H) == madrid(
        2026, 3, 9, 14, 30
    )
    assert business_seconds(cal, madrid(2026, 3, 9), madrid(2026, 3, 10)) == 8 * H


def test_a_pause_stops_the_clock():
    pauses = [(madrid(2026, 3, 9, 10, 30), madrid(2026, 3, 9, 11, 15))]

    due = add_business_seconds(office(), madrid(2026, 3, 9, 10), 2 * H, pauses)

    assert due == madrid(2026, 3, 9, 12, 45)
    assert business_seconds(office(), madrid(2026, 3, 9, 10), due, pauses) == 2 * H


def test_overlapping_pauses_count_once():
    overlapping = [
        (madrid(2026, 3, 9, 10), madrid(2026, 3, 9, 12)),
        (madrid(2026, 3, 9, 11), madrid(2026, 3, 9, 13)),
        (madrid(2026, 3, 9, 11), madrid(2026, 3, 9, 11, 30)),
    ]

    assert business_seconds(office(), madrid(2026, 3, 9), madrid(2026, 3, 10), overlapping) == 6 * H
    assert add_business_seconds(office(), madrid(2026, 3, 9, 9), 2 * H, overlapping) == madrid(
        2026, 3, 9, 14
    )


def test_an_open_ended_pause_means_the_target_is_never_reached():
    pauses = [(madrid(2026, 3, 9, 12), None)]

    assert add_business_seconds(office(), madrid(2026, 3, 9, 9), 4 * H, pauses) is None
    # ... unless it is reached before the pause starts.
    assert add_business_seconds(office(), madrid(2026, 3, 9, 9), 3 * H, pauses) == madrid(
        2026, 3, 9, 12
    )


def test_an_open_ended_pause_counts_nothing_until_the_end_of_the_range():
    pauses = [(madrid(2026, 3, 9, 12), None)]

    assert business_seconds(office(), madrid(2026, 3, 9), madrid(2026, 3, 12), pauses) == 3 * H


def test_zero_seconds_is_the_start_even_outside_business_hours():
    saturday_night = madrid(2026, 3, 7, 23, 15)

    due = add_business_seconds(office(), saturday_night, 0)

    assert due == saturday_night and due.tzinfo is UTC


def test_a_long_target_of_400_business_hours_is_counted_across_weeks():
    # 44 days of 9 hours end on Thursday Mar 5; the last 4 hours fall on Friday morning.
    due = add_business_seconds(office(), madrid(2026, 1, 5, 9), 400 * H)

    assert due == madrid(2026, 3, 6, 13)
    assert business_seconds(office(), madrid(2026, 1, 5, 9), due) == 400 * H


def test_a_spring_forward_night_shift_loses_the_skipped_hour():
    night = office(week=(((1 * H, 4 * H),),) * 7)

    assert business_seconds(night, madrid(2026, 3, 29), madrid(2026, 3, 30)) == 2 * H


def test_a_fall_back_night_shift_counts_the_repeated_hour_twice():
    night = office(week=(((1 * H, 4 * H),),) * 7)

    assert business_seconds(night, madrid(2026, 10, 25), madrid(2026, 10, 26)) == 4 * H
    # 01:00 CEST is 23:00 UTC. Two hours in, 03:00 CEST falls back to 02:00 CET, so two
    # and a half hours in is 02:30 CET, 01:30 UTC.
    assert add_business_seconds(night, madrid(2026, 10, 25), int(2.5 * H)) == utc(
        2026, 10, 25, 1, 30
    )


def test_lord_howe_days_change_by_half_an_hour():
    lord_howe = Calendar(ZoneInfo("Australia/Lord_Howe"), ((((0, 86_400),),) * 7))
    tz = lord_howe.tz

    def day(*args: int) -> int:
        start = datetime(*args, tzinfo=tz)
        return business_seconds(lord_howe, start, start + timedelta(days=1))

    assert day(2026, 4, 5) == 24 * H + 1800
    assert day(2026, 10, 4) == 23 * H + 1800
    assert day(2026, 6, 1) == 24 * H


def test_the_always_calendar_counts_wall_time_minus_pauses():
    start = utc(2026, 3, 28, 22)
    pauses = [(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))]

    assert business_seconds(ALWAYS, start, start + timedelta(days=2), pauses) == 47 * H
    assert add_business_seconds(ALWAYS, start, 5 * H, pauses) == utc(2026, 3, 29, 4)


def test_microseconds_are_floored_to_whole_seconds():
    start = madrid(2026, 3, 9, 10).replace(microsecond=250_000)

    assert business_seconds(office(), start, madrid(2026, 3, 9, 11)) == 3599
    assert add_business_seconds(office(), start, 60) == start + timedelta(seconds=60)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        business_seconds(office(), datetime(2026, 3, 9, 9), madrid(2026, 3, 9, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_seconds(office(), datetime(2026, 3, 9, 9), 60)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_seconds(office(), madrid(2026, 3, 9), 60, [(datetime(2026, 3, 9), None)])


def test_a_negative_target_or_a_pause_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        add_business_seconds(office(), madrid(2026, 3, 9), -1)
    with pytest.raises(ValueError, match="ends before it starts"):
        business_seconds(
            office(),
            madrid(2026, 3, 9),
            madrid(2026, 3, 10),
            [(madrid(2026, 3, 9, 12), madrid(2026, 3, 9, 11))],
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"week": (SPLIT_SHIFT,) * 6}, "7 days"),
        ({"week": (((9 * H, 13 * H), (12 * H, 18 * H)),) * 7}, "overlaps"),
        ({"week": (((14 * H, 18 * H), (9 * H, 13 * H)),) * 7}, "out of order"),
        ({"week": (((9 * H, 25 * H),),) * 7}, "0 <= start < end"),
        ({"week": (((-60, 9 * H),),) * 7}, "0 <= start < end"),
        ({"week": (((9 * H, 9 * H),),) * 7}, "0 <= start < end"),
        ({"week": (((9.5 * H, 18 * H),),) * 7}, "whole seconds"),
        ({"week": ((9 * H, 18 * H),) * 7}, "pair"),
        ({"holidays": frozenset({datetime(2026, 1, 1, tzinfo=UTC)})}, "not a date"),
        ({"yearly": frozenset({(2, 30)})}, "valid"),
        ({"tz": UTC}, "ZoneInfo"),
    ],
)
def test_an_invalid_calendar_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        office(**overrides)


def test_a_calendar_with_no_working_time_never_reaches_a_target():
    closed = office(week=((),) * 7)

    assert add_business_seconds(closed, madrid(2026, 3, 9), 60) is None
    assert business_seconds(closed, madrid(2026, 3, 9), madrid(2027, 3, 9)) == 0


def test_a_calendar_closed_every_day_of_the_year_gives_up_instead_of_looping():
    every_day = frozenset(
        (d.month, d.day) for d in (date(2028, 1, 1) + timedelta(n) for n in range(366))
    )
    closed = office(yearly=every_day)

    assert add_business_seconds(closed, madrid(2026, 3, 9), 60) is None


def test_equal_calendars_are_interchangeable_and_survive_pickling():
    cal = office(holidays=frozenset({date(2026, 3, 9)}))
    copy = pickle.loads(pickle.dumps(cal))

    assert copy == cal == office(holidays=frozenset({date(2026, 3, 9)}))
    assert hash(copy) == hash(cal)
    assert cal != office()
    # Lists are accepted and stored as tuples, so the calendar stays hashable.
    assert office(week=[list(NINE_TO_SIX)] * 5 + [[], []]) == office()
