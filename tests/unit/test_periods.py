"""Tests for shared.periods: business dates, months, billing cycles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.periods import (
    DEFAULT_TZ,
    FREQUENCY_MONTHS,
    Month,
    business_date,
    cycle_months,
    cycle_start_for,
    due_date,
    now_utc,
)

UTC = UTC

months = st.builds(Month, st.integers(1900, 2200), st.integers(1, 12))


# --- business dates -------------------------------------------------------------------

def test_default_tz_is_shanghai():
    assert DEFAULT_TZ == ZoneInfo("Asia/Shanghai")


def test_utc_evening_is_next_day_in_shanghai():
    at = datetime(2025, 6, 30, 17, 0, tzinfo=UTC)
    assert business_date(at) == date(2025, 7, 1)
    assert Month.of(business_date(at)) == Month(2025, 7)


def test_just_before_local_midnight():
    assert business_date(datetime(2025, 6, 30, 15, 59, 59, tzinfo=UTC)) == date(2025, 6, 30)
    assert business_date(datetime(2025, 6, 30, 16, 0, tzinfo=UTC)) == date(2025, 7, 1)


def test_other_time_zone_and_other_offsets():
    at = datetime(2025, 7, 1, 1, 0, tzinfo=timezone(timedelta(hours=8)))
    assert business_date(at) == date(2025, 7, 1)
    assert business_date(at, tz=UTC) == date(2025, 6, 30)
    assert business_date(at, ZoneInfo("America/New_York")) == date(2025, 6, 30)


def test_naive_datetime_rejected():
    with pytest.raises(ValueError):
        business_date(datetime(2025, 7, 1, 12, 0))


def test_now_utc_is_aware_utc():
    now = now_utc()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)
    business_date(now)  # accepted


# --- Month ----------------------------------------------------------------------------

def test_parse_and_str():
    m = Month.parse("2025-07")
    assert m == Month(2025, 7)
    assert (m.year, m.month) == (2025, 7)
    assert str(m) == "2025-07"
    assert str(Month(987, 1)) == "0987-01"


@pytest.mark.parametrize(
    "text",
    ["", "2025-7", "2025-13", "2025-00", "25-07", "2025/07", "2025-07-01", " 2025-07",
     "2025-07 ", "０２５-07", "abcd-ef", "0000-01"],
)
def test_parse_rejects_bad_text(text):
    with pytest.raises(ValueError):
        Month.parse(text)


def test_parse_rejects_non_string():
    with pytest.raises(ValueError):
        Month.parse(202507)  # type: ignore[arg-type]


def test_constructor_validates():
    for year, month in [(2025, 0), (2025, 13), (0, 1), (10000, 1)]:
        with pytest.raises(ValueError):
            Month(year, month)


def test_of_and_days():
    m = Month.of(date(2024, 2, 17))
    assert m == Month(2024, 2)
    assert m.first_day == date(2024, 2, 1)
    assert m.last_day == date(2024, 2, 29)
    assert Month(2025, 2).last_day == date(2025, 2, 28)
    assert Month(1900, 2).last_day == date(1900, 2, 28)
    assert Month(2025, 4).last_day == date(2025, 4, 30)
    assert Month(2025, 12).last_day == date(2025, 12, 31)


def test_ordering_and_hashing():
    assert Month(2024, 12) < Month(2025, 1) < Month(2025, 2)
    assert sorted([Month(2025, 3), Month(2024, 11), Month(2025, 1)]) == [
        Month(2024, 11), Month(2025, 1), Month(2025, 3)]
    assert len({Month(2025, 1), Month.parse("2025-01")}) == 1


def test_frozen():
    with pytest.raises(AttributeError):
        Month(2025, 1).month = 2  # type: ignore[misc]


def test_plus_wraps_years():
    assert Month(2025, 11).plus(3) == Month(2026, 2)
    assert Month(2025, 12).next() == Month(2026, 1)
    assert Month(2025, 1).plus(0) == Month(2025, 1)
    assert Month(2025, 1).plus(24) == Month(2027, 1)


def test_plus_negative():
    assert Month(2026, 2).plus(-3) == Month(2025, 11)
    assert Month(2025, 1).plus(-1) == Month(2024, 12)
    assert Month(2025, 1).plus(-12) == Month(2024, 1)
    assert Month(2025, 1).plus(-13) == Month(2023, 12)


def test_months_until():
    assert Month(2025, 11).months_until(Month(2026, 2)) == 3
    assert Month(2026, 2).months_until(Month(2025, 11)) == -3
    assert Month(2025, 7).months_until(Month(2025, 7)) == 0


def test_day_clamps_to_month_end():
    assert Month(2025, 2).day(31) == date(2025, 2, 28)
    assert Month(2024, 2).day(31) == date(2024, 2, 29)
    assert Month(2024, 2).day(29) == date(2024, 2, 29)
    assert Month(2025, 4).day(31) == date(2025, 4, 30)
    assert Month(2025, 7).day(15) == date(2025, 7, 15)
    assert Month(2025, 7).day(1) == date(2025, 7, 1)
    with pytest.raises(ValueError):
        Month(2025, 7).day(0)


@given(months, st.integers(-3000, 3000))
def test_plus_and_months_until_are_inverse(m, n):
    later = m.plus(n)
    assert m.months_until(later) == n
    assert later.plus(-n) == m
    assert (later > m) == (n > 0)


@given(months)
def test_parse_str_round_trip(m):
    assert Month.parse(str(m)) == m
    assert Month.of(m.first_day) == m == Month.of(m.last_day)
    assert m.last_day + timedelta(days=1) == m.next().first_day


# --- frequencies and cycles -----------------------------------------------------------

def test_frequency_table():
    assert FREQUENCY_MONTHS == {"monthly": 1, "quarterly": 3, "half_yearly": 6, "annual": 12}


def test_cycle_months():
    assert cycle_months(Month(2025, 7), "monthly") == [Month(2025, 7)]
    assert cycle_months(Month(2025, 11), "quarterly") == [
        Month(2025, 11), Month(2025, 12), Month(2026, 1)]
    assert len(cycle_months(Month(2025, 3), "half_yearly")) == 6
    annual = cycle_months(Month(2025, 7), "annual")
    assert annual[0] == Month(2025, 7) and annual[-1] == Month(2026, 6) and len(annual) == 12


def test_unknown_frequency_rejected():
    for bad in ["weekly", "Monthly", ""]:
        with pytest.raises(ValueError):
            cycle_months(Month(2025, 1), bad)
        with pytest.raises(ValueError):
            cycle_start_for(Month(2025, 1), bad, Month(2025, 1))


def test_cycle_start_aligned_to_anchor():
    anchor = Month(2025, 2)
    q = "quarterly"
    assert cycle_start_for(Month(2025, 2), q, anchor) == Month(2025, 2)
    assert cycle_start_for(Month(2025, 4), q, anchor) == Month(2025, 2)
    assert cycle_start_for(Month(2025, 5), q, anchor) == Month(2025, 5)
    assert cycle_start_for(Month(2026, 1), q, anchor) == Month(2025, 11)
    assert cycle_start_for(Month(2026, 2), q, anchor) == Month(2026, 2)
    assert cycle_start_for(Month(2025, 9), "monthly", anchor) == Month(2025, 9)
    assert cycle_start_for(Month(2026, 1), "annual", anchor) == Month(2025, 2)
    assert cycle_start_for(Month(2026, 2), "annual", anchor) == Month(2026, 2)
    assert cycle_start_for(Month(2025, 8), "half_yearly", anchor) == Month(2025, 8)
    assert cycle_start_for(Month(2025, 7), "half_yearly", anchor) == Month(2025, 2)


def test_cycle_start_before_anchor_uses_same_grid():
    anchor = Month(2025, 2)
    assert cycle_start_for(Month(2025, 1), "quarterly", anchor) == Month(2024, 11)
    assert cycle_start_for(Month(2024, 11), "quarterly", anchor) == Month(2024, 11)


@given(months, months, st.sampled_from(sorted(FREQUENCY_MONTHS)))
def test_cycle_start_contains_month(month, anchor, frequency):
    start = cycle_start_for(month, frequency, anchor)
    assert month in cycle_months(start, frequency)
    assert anchor.months_until(start) % FREQUENCY_MONTHS[frequency] == 0
    assert cycle_start_for(start, frequency, anchor) == start


# --- due dates ------------------------------------------------------------------------

def test_due_date():
    assert due_date(Month(2025, 7), 15) == date(2025, 7, 15)
    assert due_date(Month(2025, 2), 31) == date(2025, 2, 28)
    assert due_date(Month(2028, 2), 31) == date(2028, 2, 29)
    assert due_date(Month(2025, 11), 31) == date(2025, 11, 30)


@pytest.mark.parametrize("bad", [0, -1, 32])
def test_due_day_out_of_range(bad):
    with pytest.raises(ValueError):
        due_date(Month(2025, 7), bad)


def test_clock_file_moves_now_ahead_by_its_offset(tmp_path, monkeypatch):
    from shared.periods import CLOCK_FILE_ENV, now_utc

    clock = tmp_path / "clock"
    clock.write_text("86400")
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    ahead = now_utc()
    monkeypatch.delenv(CLOCK_FILE_ENV)
    assert 86390 < (ahead - now_utc()).total_seconds() <= 86400
