"""Months of coverage and the medical waiting period after a gap (国办发〔2024〕38号)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.enrollment.domain.coverage import (
    Suspension,
    last_month_on_termination,
    medical_waiting_until,
    months_without_cover,
    next_unbilled_month,
    start_month_after,
    suspended_on,
    suspension_for,
    waiting_months,
)
from shared.events import PaymentOverdue
from shared.periods import Month

BILL = uuid.UUID("5763ed29-0000-4000-8000-000000000001")


def an_overdue_bill(level: int, days_overdue: int | None = None) -> PaymentOverdue:
    return PaymentOverdue(
        bill_id=BILL, person_id=uuid.uuid4(), programmes=["pension"], due_date=date(2025, 8, 15),
        days_overdue=level if days_overdue is None else days_overdue, level=level, unpaid_principal="1432.40",
        late_fee_to_date="64.46",
    )


@pytest.mark.parametrize(
    "gap, wait",
    [
        (0, 0),
        (3, 0),    # three months without cover: no wait
        (4, 3),    # more than three: the fixed three months
        (14, 3),   # 3 + 11 further months, not yet a full year
        (15, 4),   # 3 + one further full year
        (27, 5),   # 3 + two further full years
    ],
)
def test_waiting_months_after_a_gap(gap, wait):
    assert waiting_months(gap) == wait


@given(gap=st.integers(min_value=4, max_value=600))
def test_past_three_months_the_wait_grows_by_one_month_per_further_full_year(gap):
    assert waiting_months(gap + 12) == waiting_months(gap) + 1
    assert 3 <= waiting_months(gap) <= waiting_months(gap + 1)


def test_months_without_cover_are_those_strictly_between():
    assert months_without_cover(Month(2025, 1), Month(2025, 2)) == 0
    assert months_without_cover(Month(2025, 1), Month(2025, 6)) == 4
    assert months_without_cover(Month(2025, 6), Month(2025, 1)) == 0


def test_a_medical_enrolment_after_a_gap_waits_until_the_end_of_the_third_month():
    # covered until January, resumes in June: four months without cover → 3 months' wait
    assert medical_waiting_until("medical_employee", Month(2025, 6), Month(2025, 1)) == date(2025, 8, 31)


def test_no_wait_for_a_short_gap_a_first_enrolment_or_a_non_medical_programme():
    assert medical_waiting_until("medical_employee", Month(2025, 5), Month(2025, 1)) is None
    assert medical_waiting_until("medical_employee", Month(2025, 6), None) is None
    assert medical_waiting_until("pension", Month(2025, 6), Month(2024, 1)) is None


def test_coverage_starts_the_month_after_approval():
    assert start_month_after(date(2025, 12, 31)) == Month(2026, 1)


def test_a_change_applies_from_the_month_after_today_or_from_the_start_month_if_later():
    assert next_unbilled_month(date(2025, 8, 20), Month(2025, 8)) == Month(2025, 9)
    assert next_unbilled_month(date(2025, 8, 20), Month(2025, 11)) == Month(2025, 11)


def test_the_last_covered_month_on_termination():
    assert last_month_on_termination(date(2025, 9, 3), Month(2025, 8), None) == Month(2025, 9)
    assert last_month_on_termination(date(2026, 1, 3), Month(2025, 8), date(2025, 11, 14)) == Month(2025, 11)
    # not started yet: nothing covered, the month before the start
    assert last_month_on_termination(date(2025, 9, 3), Month(2025, 10), None) == Month(2025, 9)


def test_suspension_dates_from_the_due_date_and_days_overdue():
    assert suspended_on(date(2025, 8, 15), 90) == date(2025, 11, 13)


@pytest.mark.parametrize("level", [1, 30, 60])
def test_an_overdue_bill_below_the_suspension_level_suspends_nothing(level):
    assert suspension_for(an_overdue_bill(level), suspension_level=90) is None


def test_an_overdue_bill_at_the_suspension_level_suspends_from_the_day_it_reached_it():
    assert suspension_for(an_overdue_bill(90), suspension_level=90) == Suspension(
        since=date(2025, 11, 13), reason=f"payment overdue 90 days (bill {BILL})")


def test_the_suspension_level_is_configurable():
    assert suspension_for(an_overdue_bill(60), suspension_level=60).since == date(2025, 10, 14)
    assert suspension_for(an_overdue_bill(90, days_overdue=95), suspension_level=30).since == date(2025, 11, 18)
