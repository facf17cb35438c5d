from datetime import date
from decimal import Decimal

import pytest

from services.billing.domain.pricing import (
    NoPolicy,
    bill_total,
    flat_monthly_amount,
    monthly_amount,
    price_cycle,
    price_line,
    reprice,
    repricing_month,
)
from shared.periods import Month
from tests.unit.billing.examples import (
    beijing_medical,
    beijing_pension,
    beijing_unemployment,
    shanghai_medical,
    shanghai_pension,
)

JULY = Month(2025, 7)


@pytest.mark.parametrize(
    ("policy", "amount"),
    [
        (beijing_pension(), "1432.40"),
        (beijing_medical(), "584.92"),
        (beijing_unemployment(), "71.62"),
        (shanghai_pension(), "1492.00"),
        (shanghai_medical(), "820.60"),
    ],
    ids=["beijing pension", "beijing medical flat", "beijing unemployment", "shanghai pension", "shanghai medical"],
)
def test_the_published_examples_at_the_floor_to_the_cent(policy, amount):
    floor = policy.base_floor or Decimal("7162")
    assert price_line(policy, JULY, floor).amount == Decimal(amount)


def test_a_flat_programme_costs_the_same_whatever_the_declared_base():
    line = price_line(beijing_medical(), JULY, Decimal("20000"))

    assert line.amount == Decimal("584.92")
    assert line.base is None and line.rate is None


def test_a_line_is_base_times_rate_rounded_half_up():
    # 7162.50 × 0.20 = 1432.50; 10001.25 × 0.11 = 1100.1375 → 1100.14
    assert price_line(beijing_pension(), JULY, Decimal("7162.50")).amount == Decimal("1432.50")
    assert price_line(shanghai_medical(), JULY, Decimal("10001.25")).amount == Decimal("1100.14")


def test_a_base_below_the_floor_is_raised_and_above_the_ceiling_lowered():
    assert price_line(beijing_pension(), JULY, Decimal("5000")).base == Decimal("7162")
    assert price_line(beijing_pension(), JULY, Decimal("50000")).amount == Decimal("7162.20")


def test_the_pension_line_records_what_goes_to_the_personal_account():
    assert price_line(beijing_pension(), JULY, Decimal("10000")).personal_account == Decimal("800.00")


def test_a_quarter_spanning_a_policy_change_is_priced_month_by_month():
    old = beijing_pension()
    new = beijing_pension(effective_from=date(2026, 1, 1), base_floor=Decimal("7500"), base_ceiling=Decimal("37500"))

    lines = price_cycle([old, new], "110000", "pension", Month(2025, 12), "quarterly", Decimal("7162"))

    assert [(str(line.month), line.amount) for line in lines] == [
        ("2025-12", Decimal("1432.40")),
        ("2026-01", Decimal("1500.00")),
        ("2026-02", Decimal("1500.00")),
    ]
    assert bill_total(lines) == Decimal("4432.40")


def test_a_month_no_policy_covers_cannot_be_priced():
    with pytest.raises(NoPolicy):
        price_cycle([beijing_pension()], "110000", "pension", Month(2025, 6), "monthly", Decimal("8000"))


def test_a_yearly_flat_amount_is_split_so_that_a_year_adds_up():
    resident = beijing_medical(programme="medical_resident", flat_amount=Decimal("400"), flat_period="year")

    months = [flat_monthly_amount(resident, Month(2026, m)) for m in range(1, 13)]

    assert months[0] == Decimal("33.33")
    assert months[-1] == Decimal("33.37")
    assert sum(months) == Decimal("400.00")


def test_a_new_floor_raises_the_carried_base_and_the_monthly_amount():
    new = beijing_pension(effective_from=date(2026, 7, 1), base_floor=Decimal("7500"))

    change = reprice(beijing_pension(), new, Decimal("7162"))

    assert (change.old_base, change.new_base) == (Decimal("7162"), Decimal("7500"))
    assert (change.old_monthly_amount, change.new_monthly_amount) == (Decimal("1432.40"), Decimal("1500.00"))
    assert change.changes_anything


def test_a_lower_ceiling_lowers_the_carried_base():
    new = beijing_pension(effective_from=date(2026, 7, 1), base_ceiling=Decimal("30000"))

    change = reprice(beijing_pension(), new, Decimal("35000"))

    assert change.new_base == Decimal("30000")
    assert change.new_monthly_amount == Decimal("6000.00")


def test_a_base_inside_the_new_range_with_the_same_rate_changes_nothing():
    new = beijing_pension(effective_from=date(2026, 7, 1), base_floor=Decimal("7500"))

    assert not reprice(beijing_pension(), new, Decimal("10000")).changes_anything


def test_a_new_flat_amount_changes_the_monthly_amount_and_keeps_the_base():
    new = beijing_medical(effective_from=date(2026, 7, 1), flat_amount=Decimal("600.00"))

    change = reprice(beijing_medical(), new, Decimal("9000"))

    assert change.new_base == Decimal("9000")
    assert (change.old_monthly_amount, change.new_monthly_amount) == (Decimal("584.92"), Decimal("600.00"))
    assert monthly_amount(new, Decimal("1")) == Decimal("600.00")


def test_a_carried_base_applies_from_the_new_version_or_the_enrolment_start_if_later():
    assert repricing_month(date(2026, 1, 1), enrolment_start=date(2025, 7, 1)) == Month(2026, 1)
    assert repricing_month(date(2026, 1, 1), enrolment_start=date(2026, 3, 1)) == Month(2026, 3)
