"""EnrollmentActivated → billing run → one bill per person per cycle, announced as PremiumDue."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest

from tests.integration.billing.story import an_active_enrolment, billing_run, bills_of, events

pytestmark = pytest.mark.integration


async def test_an_activated_enrolment_is_billed_once_per_cycle(billing):
    person = await an_active_enrolment(billing, programmes=("pension", "medical_employee", "unemployment"),
                                       via_broker=True)

    too_early = await billing_run(billing, "2025-06-20")
    await billing_run(billing, "2025-06-21")
    await billing_run(billing, "2025-06-21")

    due = await events(billing, "PremiumDue", person)
    assert too_early["horizon"] == "2025-06-30"
    assert len(due) == 1
    bill = due[0].data
    assert bill.months == ("2025-07",)
    assert [(line.programme, line.base, line.rate, line.amount) for line in bill.lines] == [
        ("medical_employee", None, None, Decimal("584.92")),
        ("pension", Decimal("7162.00"), Decimal("0.20"), Decimal("1432.40")),
        ("unemployment", Decimal("7162.00"), Decimal("0.01"), Decimal("71.62")),
    ]
    assert bill.total == Decimal("2088.94")
    assert bill.due_date == date(2025, 7, 15)
    assert bill.credit_applied is None
    assert due[0].subject == str(bill.bill_id) and due[0].region == "110000"


async def test_the_next_cycle_is_billed_when_it_comes_within_the_horizon(billing):
    person = await an_active_enrolment(billing)

    await billing_run(billing, "2025-06-25")
    await billing_run(billing, "2025-07-21")
    await billing_run(billing, "2025-07-22")

    due = await events(billing, "PremiumDue", person)
    assert [(e.data.months, e.data.due_date) for e in due] == [
        (("2025-07",), date(2025, 7, 15)), (("2025-08",), date(2025, 8, 15))]
    assert [bill["status"] for bill in await bills_of(billing, person)] == ["open", "open"]


async def test_a_run_that_missed_days_bills_every_cycle_that_came_due(billing):
    person = await an_active_enrolment(billing, start="2025-07")

    await billing_run(billing, "2025-09-25")

    due = await events(billing, "PremiumDue", person)
    assert sorted(e.data.months[0] for e in due) == ["2025-07", "2025-08", "2025-09", "2025-10"]


async def test_a_quarterly_enrolment_gets_one_bill_for_its_three_months(billing):
    person = await an_active_enrolment(billing, frequency="quarterly", base="10000",
                                       programmes=("pension", "medical_employee"))

    await billing_run(billing, "2025-06-25")

    [due] = await events(billing, "PremiumDue", person)
    assert due.data.months == ("2025-07", "2025-08", "2025-09")
    assert len(due.data.lines) == 6
    assert due.data.total == 3 * (Decimal("2000.00") + Decimal("584.92"))
    assert due.data.due_date == date(2025, 7, 15)


async def test_a_shanghai_person_is_billed_by_shanghai_policy_and_not_by_a_beijing_run(billing):
    person = await an_active_enrolment(billing, region="310000", programmes=("pension", "medical_employee"),
                                       base="7460")

    await billing_run(billing, "2025-06-25", region="110000")
    assert await events(billing, "PremiumDue", person) == []

    await billing_run(billing, "2025-06-25", region="310000")
    [due] = await events(billing, "PremiumDue", person)
    assert [line.amount for line in due.data.lines] == [Decimal("820.60"), Decimal("1492.00")]
    assert due.region == "310000"


async def test_runs_started_together_bill_each_cycle_once(billing):
    people = [await an_active_enrolment(billing, start="2025-11") for _ in range(7)]

    await asyncio.gather(*[billing_run(billing, "2025-10-25") for _ in range(3)])

    for person in people:
        assert [e.data.months for e in await events(billing, "PremiumDue", person)] == [("2025-11",)]
