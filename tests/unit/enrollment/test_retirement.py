"""The statutory retirement age of the 2025 reform table (DOMAIN.md Eligibility)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain.retirement import (
    REFORM_TABLE,
    below_retirement_age,
    retirement_date,
    retirement_delay_months,
    statutory_retirement_age_months,
)


def years_months(months: int) -> tuple[int, int]:
    return divmod(months, 12)


@pytest.mark.parametrize(
    "category, born, expected",
    [
        # men, original 60, from 1965-01, one more month every 4, capped at 36
        ("male_60", date(1964, 12, 31), (60, 0)),   # born before the first affected month
        ("male_60", date(1965, 1, 1), (60, 1)),     # first affected month (DOMAIN's example)
        ("male_60", date(1965, 4, 30), (60, 1)),    # k = 3, still the first step
        ("male_60", date(1965, 5, 1), (60, 2)),     # k = 4, the second step
        ("male_60", date(1976, 8, 15), (62, 11)),   # the month before the cap
        ("male_60", date(1976, 9, 1), (63, 0)),     # at the cap (DOMAIN: 1976-09 or later → 63)
        ("male_60", date(1990, 1, 1), (63, 0)),     # well past the cap
        # women, original 55, from 1970-01, step 4, cap 36
        ("female_55", date(1969, 12, 31), (55, 0)),
        ("female_55", date(1970, 1, 1), (55, 1)),
        ("female_55", date(1970, 5, 1), (55, 2)),
        ("female_55", date(1981, 8, 1), (57, 11)),
        ("female_55", date(1981, 9, 1), (58, 0)),   # DOMAIN: 1981-09 or later → 58
        # women, original 50, from 1975-01, step 2, cap 60
        ("female_50", date(1974, 12, 31), (50, 0)),
        ("female_50", date(1975, 1, 1), (50, 1)),
        ("female_50", date(1975, 2, 28), (50, 1)),  # k = 1
        ("female_50", date(1975, 3, 1), (50, 2)),   # k = 2
        ("female_50", date(1984, 10, 1), (54, 11)),
        ("female_50", date(1984, 11, 1), (55, 0)),  # DOMAIN: 1984-11 or later → 55
    ],
)
def test_statutory_retirement_age_by_birth_month(category, born, expected):
    assert years_months(statutory_retirement_age_months(born, category)) == expected


def test_retirement_date_of_the_first_affected_man_is_sixty_years_and_one_month_after_birth():
    assert retirement_date(date(1965, 1, 10), "male_60") == date(2025, 2, 10)


def test_retirement_date_clamps_a_day_the_month_does_not_have():
    # born 1965-01-31, 60 years 1 month later is February 2025, which has 28 days
    assert retirement_date(date(1965, 1, 31), "male_60") == date(2025, 2, 28)


def test_below_retirement_age_until_the_day_before_and_not_on_the_day():
    born = date(1965, 1, 10)
    assert below_retirement_age(born, "male_60", date(2025, 2, 9))
    assert not below_retirement_age(born, "male_60", date(2025, 2, 10))


@given(
    category=st.sampled_from(sorted(REFORM_TABLE)),
    born=st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)),
    later=st.integers(min_value=0, max_value=400),
)
def test_the_delay_never_shrinks_for_later_births_and_stays_within_the_cap(category, born, later):
    row = REFORM_TABLE[category]
    later_born = date(born.year + (born.month - 1 + later) // 12, (born.month - 1 + later) % 12 + 1, 1)
    delay = retirement_delay_months(born, category)
    assert 0 <= delay <= row.cap
    assert retirement_delay_months(later_born, category) >= delay
