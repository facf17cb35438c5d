import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain.payments import (
    BillBalance,
    OpenBill,
    allocate,
    arrears_bill,
    open_bill,
    paid_before_cover,
    payment_problems,
    still_owed,
)

RATE = Decimal("0.0005")


def a_bill(principal: str, *, due: date = date(2025, 7, 15), late_fee: str = "0.00") -> OpenBill:
    return OpenBill(uuid.uuid4(), due, due.replace(day=1), Decimal(principal), Decimal(late_fee))


def a_balance(principal: str, *, due: date = date(2025, 7, 15), paid: str = "0.00", grace_days: int = 0) -> BillBalance:
    return BillBalance(
        bill_id=uuid.uuid4(), due_date=due, first_month=due.replace(day=1), principal=Decimal(principal),
        principal_paid=Decimal(paid), grace_days=grace_days, late_fee_daily_rate=RATE,
        frozen_accrual=Decimal(0), accrued_through=due, late_fee_paid=Decimal("0.00"),
    )


def test_the_oldest_bill_is_paid_first_whatever_the_order_given():
    july, august = a_bill("1432.40"), a_bill("1432.40", due=date(2025, 8, 15))

    allocation = allocate(Decimal("1432.40"), [august, july])

    assert [(part.bill_id, part.principal, part.settles) for part in allocation.applied] == [
        (july.bill_id, Decimal("1432.40"), True)]
    assert allocation.credit == Decimal("0.00")


def test_the_late_fee_is_paid_before_the_principal():
    overdue = a_bill("1432.40", late_fee="21.49")

    allocation = allocate(Decimal("100.00"), [overdue])

    assert allocation.applied[0].late_fee == Decimal("21.49")
    assert allocation.applied[0].principal == Decimal("78.51")
    assert not allocation.applied[0].settles


def test_a_partial_payment_leaves_the_next_bill_untouched():
    july, august = a_bill("1432.40"), a_bill("1432.40", due=date(2025, 8, 15))

    allocation = allocate(Decimal("2000.00"), [july, august])

    assert [part.principal for part in allocation.applied] == [Decimal("1432.40"), Decimal("567.60")]
    assert [part.settles for part in allocation.applied] == [True, False]


def test_an_overpayment_becomes_credit():
    allocation = allocate(Decimal("2000.00"), [a_bill("1432.40")])

    assert allocation.credit == Decimal("567.60")


def test_a_payment_with_nothing_owed_is_all_credit():
    allocation = allocate(Decimal("500.00"), [])

    assert allocation.applied == () and allocation.credit == Decimal("500.00")


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.005"])
def test_only_positive_amounts_in_cents_can_be_allocated(amount):
    with pytest.raises(ValueError):
        allocate(Decimal(amount), [a_bill("100.00")])


def test_a_bill_settled_within_its_grace_days_pays_no_late_fee():
    balance = a_balance("1000.00", grace_days=10)

    assert balance.late_fee_due(date(2025, 7, 25)) == Decimal("0.00")
    assert balance.late_fee_due(date(2025, 7, 26)) == Decimal("5.50")  # 11 days from the day after the due date


def test_a_partial_payment_freezes_the_fee_so_far_and_the_rest_accrues_on_less():
    balance = a_balance("1000.00")
    paid_on = date(2025, 7, 25)
    fee = balance.late_fee_due(paid_on)  # 10 days on 1000.00

    after = balance.paid(paid_on, Decimal("500.00"), fee)

    assert fee == Decimal("5.00")
    assert after.late_fee_due(paid_on) == Decimal("0.00")
    assert after.late_fee_due(date(2025, 7, 30)) == Decimal("1.25")  # 5 more days on 500.00
    assert open_bill(after, date(2025, 7, 30)).total_due == Decimal("501.25")


cents = st.integers(min_value=0, max_value=5_000_000).map(lambda n: Decimal(n) / 100)
bills = st.lists(
    st.builds(
        lambda principal, fee, days: OpenBill(uuid.uuid4(), date(2025, 7, 15) + timedelta(days=days),
                                              date(2025, 7, 1), principal, fee),
        principal=cents, fee=cents, days=st.integers(min_value=0, max_value=400),
    ),
    max_size=8,
)
payments = st.integers(min_value=1, max_value=10_000_000).map(lambda n: Decimal(n) / 100)


@given(amount=payments, open_bills=bills)
def test_allocation_never_creates_or_loses_a_cent(amount, open_bills):
    allocation = allocate(amount, open_bills)

    assert allocation.applied_total + allocation.credit == amount
    assert allocation.credit >= 0


@given(amount=payments, open_bills=bills)
def test_no_bill_receives_more_than_it_asks_for(amount, open_bills):
    asked = {bill.bill_id: bill for bill in open_bills}

    for part in allocate(amount, open_bills).applied:
        assert 0 <= part.late_fee <= asked[part.bill_id].late_fee_due
        assert 0 <= part.principal <= asked[part.bill_id].principal_due
        assert part.principal == 0 or part.late_fee == asked[part.bill_id].late_fee_due


@given(amount=payments, open_bills=bills)
def test_credit_is_left_only_when_every_bill_is_covered_and_later_bills_wait_for_earlier_ones(amount, open_bills):
    allocation = allocate(amount, open_bills)
    asked = {bill.bill_id: bill for bill in open_bills}

    if allocation.credit > 0:
        assert sum((bill.total_due for bill in open_bills), Decimal(0)) == allocation.applied_total
    for earlier in allocation.applied[:-1]:
        assert earlier.total == asked[earlier.bill_id].total_due


NOW = datetime(2025, 7, 10, 2, tzinfo=UTC)
SKEW = timedelta(seconds=120)


def test_a_payment_in_cents_made_by_now_is_acceptable():
    assert payment_problems(Decimal("1432.40"), NOW, NOW, SKEW) == []


def test_a_payment_must_be_a_positive_amount_in_cents():
    assert payment_problems(Decimal("0.00"), NOW, NOW, SKEW) == [("body.amount", "a payment must be a positive amount")]
    assert payment_problems(Decimal("10.005"), NOW, NOW, SKEW) == [
        ("body.amount", "money has at most two decimal places")]


def test_a_channel_clock_may_run_ahead_by_the_skew_but_no_further():
    assert payment_problems(Decimal("10.00"), NOW + SKEW, NOW, SKEW) == []
    assert payment_problems(Decimal("10.00"), NOW + SKEW + timedelta(seconds=1), NOW, SKEW) == [
        ("body.paid_at", "a payment cannot have been made in the future")]


def test_an_unpaid_bill_still_asks_for_its_principal_and_the_late_fee_to_date():
    overdue = a_balance("1432.40", paid="432.40")

    assert still_owed(overdue, "overdue", date(2025, 7, 25)) == (Decimal("1000.00"), Decimal("5.00"))
    assert still_owed(overdue, "open", date(2025, 7, 15)) == (Decimal("1000.00"), Decimal("0.00"))


@pytest.mark.parametrize("status", ["paid", "missed", "cancelled"])
def test_a_settled_bill_asks_for_nothing(status):
    assert still_owed(a_balance("1432.40", paid="432.40"), status, date(2025, 7, 25)) == (Decimal(0), Decimal(0))


def test_one_payment_carries_at_most_the_cap():
    cap = Decimal("500000.00")

    assert payment_problems(Decimal("500000.00"), NOW, NOW, SKEW, cap) == []
    assert payment_problems(Decimal("9999999999.99"), NOW, NOW, SKEW, cap) == [
        ("body.amount", "one payment carries at most 500000.00; split larger sums")]


def test_a_payment_cannot_be_dated_long_before_the_cover_began():
    from datetime import date

    assert paid_before_cover(date(2025, 5, 1), date(2025, 7, 1)) == []  # the first bill is paid early
    assert paid_before_cover(date(2024, 11, 1), date(2025, 1, 1)) == []  # across a new year
    assert paid_before_cover(date(2025, 4, 30), date(2025, 7, 1)) == [
        ("body.paid_at", "a payment cannot be dated before 2025-05-01 (cover begins 2025-07)")]
    assert paid_before_cover(date(1, 1, 1), date(2025, 7, 1))[0][0] == "body.paid_at"
    assert paid_before_cover(date(1, 1, 1), None) == []  # no enrolment known: nothing to compare with


@pytest.mark.parametrize(("status", "level", "reported", "still_overdue"), [
    ("overdue", 1, False, True), ("paid", 30, False, False), ("cancelled", 1, False, False),
    ("missed", 90, False, False), ("paid", 30, True, None), ("overdue", 0, False, None), ("open", 0, False, None),
    ("paid", 0, False, None),
])
def test_a_bill_is_one_of_the_arrears_once_overdue_until_its_settlement_is_announced(status, level, reported,
                                                                                      still_overdue):
    bill = arrears_bill(uuid.uuid4(), "110000", uuid.uuid4(), ("pension",), status, level, reported)

    assert (bill.still_overdue if bill else None) == still_overdue
