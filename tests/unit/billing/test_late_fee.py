import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.billing.domain.late_fee import (
    ArrearsBill,
    accrual,
    days_overdue,
    is_missed,
    is_overdue,
    late_fee,
    late_fee_to_date,
    level_reached,
    settled_arrears,
    settled_programmes,
)

DUE = date(2025, 7, 15)
RATE = Decimal("0.0005")


def test_the_late_fee_runs_from_the_day_after_the_due_date():
    assert days_overdue(DUE, date(2025, 7, 15)) == 0
    assert days_overdue(DUE, date(2025, 7, 16)) == 1
    assert days_overdue(DUE, date(2025, 10, 13)) == 90


def test_late_fee_for_a_number_of_days_is_rounded_half_up():
    # 1432.40 × 0.0005 × 30 = 21.486 → 21.49; × 7 = 5.0134 → 5.01
    assert late_fee(Decimal("1432.40"), RATE, 30) == Decimal("21.49")
    assert late_fee(Decimal("1432.40"), RATE, 7) == Decimal("5.01")
    assert late_fee(Decimal("2017.32"), RATE, 97) == Decimal("97.84")


def test_no_late_fee_where_the_region_sets_a_zero_rate():
    assert late_fee(Decimal("1432.40"), Decimal("0"), 45) == Decimal("0.00")


def test_the_fee_to_date_adds_the_frozen_stretches_and_rounds_once():
    # 10 days on 1000.00, then 1000 paid down to 500.00 for 5 more days: 5.00 + 1.25
    frozen = accrual(Decimal("1000.00"), RATE, DUE, date(2025, 7, 25))

    assert late_fee_to_date(frozen, Decimal("500.00"), RATE, date(2025, 7, 25), date(2025, 7, 30)) == Decimal("6.25")


def test_a_bill_is_overdue_only_after_its_grace_days():
    assert not is_overdue(DUE, 0, DUE)
    assert is_overdue(DUE, 0, date(2025, 7, 16))
    assert not is_overdue(DUE, 5, date(2025, 7, 20))
    assert is_overdue(DUE, 5, date(2025, 7, 21))


@pytest.mark.parametrize(
    ("days", "level"), [(0, 0), (1, 1), (29, 1), (30, 30), (59, 30), (60, 60), (90, 90), (400, 90)])
def test_escalation_levels(days, level):
    assert level_reached(days) == level


def test_months_are_missed_only_where_back_payment_is_not_allowed_and_past_the_limit():
    assert not is_missed(DUE, True, None, date(2027, 1, 1))
    assert not is_missed(DUE, False, 90, date(2025, 10, 13))
    assert is_missed(DUE, False, 90, date(2025, 10, 14))


def test_arrears_are_settled_only_once_no_overdue_bill_is_left():
    assert settled_programmes([("pension", "medical_employee")], overdue_bills_left=1) == ()
    assert settled_programmes([], overdue_bills_left=0) == ()
    assert settled_programmes([("pension",), ("medical_employee", "pension")], overdue_bills_left=0) == (
        "medical_employee", "pension")


def an_arrears_bill(person: uuid.UUID, *programmes: str, overdue: bool = False, region: str = "110000") -> ArrearsBill:
    return ArrearsBill(person, region, uuid.uuid4(), list(programmes), still_overdue=overdue)


def test_a_person_with_an_overdue_bill_left_has_no_arrears_settled():
    person = uuid.uuid4()

    assert settled_arrears([an_arrears_bill(person, "pension"), an_arrears_bill(person, "pension", overdue=True)]) == []


def test_the_settled_bills_of_a_person_with_none_overdue_are_announced_once_together():
    person = uuid.uuid4()
    july, august = an_arrears_bill(person, "pension"), an_arrears_bill(person, "medical_employee", "pension")

    [settled] = settled_arrears([july, august])

    assert (settled.person_id, settled.region) == (person, "110000")
    assert settled.programmes == ("medical_employee", "pension")
    assert settled.bill_ids == (july.bill_id, august.bill_id)


def test_arrears_are_settled_person_by_person():
    cleared, still_owing = uuid.uuid4(), uuid.uuid4()
    bills = [an_arrears_bill(still_owing, "pension", overdue=True),
             an_arrears_bill(cleared, "pension", region="310000"),
             an_arrears_bill(still_owing, "pension")]

    assert [(s.person_id, s.region) for s in settled_arrears(bills)] == [(cleared, "310000")]
