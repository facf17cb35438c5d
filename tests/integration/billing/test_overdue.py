"""Overdue bills: one PaymentOverdue per level, the late fee charged when paid, ArrearsSettled
once everything overdue is paid; missed months where back-payment is not allowed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from tests.integration.billing.story import an_active_enrolment, billing_run, bills_of, events, on, overdue_scan, pay

pytestmark = pytest.mark.integration


async def test_each_level_is_announced_once_and_the_late_fee_is_charged_on_payment(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")

    for day in ["2025-07-15", "2025-07-16", "2025-07-17", "2025-08-13", "2025-08-14", "2025-09-13",
                "2025-09-13", "2025-10-12", "2025-10-13", "2025-10-20"]:
        await overdue_scan(billing, day)

    notices = [e.data for e in await events(billing, "PaymentOverdue", person)]
    assert [(n.level, n.days_overdue) for n in notices] == [(1, 1), (30, 30), (60, 60), (90, 90)]
    assert notices[-1].unpaid_principal == Decimal("1432.40")
    assert notices[-1].late_fee_to_date == Decimal("64.46")  # 1432.40 × 0.0005 × 90
    assert notices[-1].programmes == ("pension",) and notices[-1].due_date == date(2025, 7, 15)
    [bill] = await bills_of(billing, person, status="overdue")
    assert bill["overdue_level"] == 90

    paid = await pay(billing, person, "1501.87", paid_at=on("2025-10-20"))  # 97 days: 69.47 late fee

    assert paid["applied"][0]["late_fee"] == "69.47"
    assert paid["applied"][0]["principal"] == "1432.40"
    [settled] = await events(billing, "ArrearsSettled", person)
    assert settled.data.programmes == ("pension",)
    assert settled.data.settled_at == on("2025-10-20")
    [bill] = await bills_of(billing, person)
    assert (bill["status"], bill["late_fee_paid"], bill["outstanding"]) == ("paid", "69.47", "0.00")


async def test_arrears_are_settled_only_when_the_last_overdue_bill_is_paid(billing):
    person = await an_active_enrolment(billing, programmes=("pension", "unemployment"))
    await billing_run(billing, "2025-07-25")  # July and August
    await overdue_scan(billing, "2025-08-16")  # both overdue

    await pay(billing, person, "1504.02", paid_at=on("2025-07-15"))  # July, on its due date
    assert await events(billing, "ArrearsSettled", person) == []
    await pay(billing, person, "1504.02", paid_at=on("2025-08-15"))  # August, on its due date

    [settled] = await events(billing, "ArrearsSettled", person)
    assert settled.data.programmes == ("pension", "unemployment")
    await overdue_scan(billing, "2025-08-17")
    assert len(await events(billing, "ArrearsSettled", person)) == 1


async def test_arrears_settled_by_a_payment_follow_its_premium_paid(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    await overdue_scan(billing, "2025-07-16")

    await pay(billing, person, "1433.12", paid_at=on("2025-07-16"))

    [paid] = await events(billing, "PremiumPaid", person)
    [settled] = await events(billing, "ArrearsSettled", person)
    assert (settled.correlationid, settled.causationid) == (paid.correlationid, paid.id)
    assert paid.correlationid == paid.id and paid.causationid is None


async def test_a_partial_payment_of_an_overdue_bill_pays_the_fee_first_and_the_rest_accrues_on_less(billing):
    person = await an_active_enrolment(billing, base="10000")
    await billing_run(billing, "2025-06-25")  # July: 2000.00

    first = await pay(billing, person, "1005.00", paid_at=on("2025-07-25"))  # 10 days: 10.00 fee
    await overdue_scan(billing, "2025-08-04")  # 10 more days on 1005.00: 5.025
    second = await pay(billing, person, "1010.03", paid_at=on("2025-08-04"))

    assert (first["applied"][0]["late_fee"], first["applied"][0]["principal"]) == ("10.00", "995.00")
    [notice] = [e.data for e in await events(billing, "PaymentOverdue", person)]
    assert (notice.unpaid_principal, notice.late_fee_to_date) == (Decimal("1005.00"), Decimal("5.03"))
    assert (second["applied"][0]["late_fee"], second["applied"][0]["principal"]) == ("5.03", "1005.00")
    assert second["credit_balance"] == "0.00"


async def test_unpaid_months_are_missed_where_back_payment_is_not_allowed(billing):
    person = await an_active_enrolment(billing, region="310000", base="7460")
    await billing_run(billing, "2025-06-25", region="310000")

    await overdue_scan(billing, "2025-10-13", region="310000")  # 90 days: still payable
    report = await overdue_scan(billing, "2025-10-14", region="310000")

    [bill] = await bills_of(billing, person)
    assert bill["status"] == "missed"
    assert report["missed"] >= 1
    [settled] = await events(billing, "ArrearsSettled", person)
    assert settled.data.programmes == ("pension",)
    statement = (await billing.client.get(f"/v1/persons/{person.person_id}/statement",
                                          headers=billing.auth("resident", sub=person.person_id))).json()
    assert statement["programmes"][0]["months_missed"] == ["2025-07"]
    assert statement["programmes"][0]["months_paid"] == []


async def test_a_payment_also_announces_arrears_settled_before_it_and_not_announced_yet(billing):
    person = await an_active_enrolment(billing, programmes=("pension", "unemployment"))
    await billing_run(billing, "2025-07-25")  # July and August
    await overdue_scan(billing, "2025-08-16")  # both overdue
    july, august = sorted(await bills_of(billing, person), key=lambda bill: bill["due_date"])
    async with billing.pool.acquire() as conn:  # July settled elsewhere (its lines voided), not announced yet
        await conn.execute("UPDATE bills SET status = 'cancelled' WHERE bill_id = $1", uuid.UUID(july["bill_id"]))

    await pay(billing, person, "1504.02", paid_at=on("2025-08-15"))  # August, on its due date

    [settled] = await events(billing, "ArrearsSettled", person)
    assert settled.data.programmes == ("pension", "unemployment")
    async with billing.pool.acquire() as conn:
        reported = await conn.fetch(
            "SELECT bill_id FROM bills WHERE arrears_reported_at IS NOT NULL AND bill_id = ANY($1)",
            [uuid.UUID(july["bill_id"]), uuid.UUID(august["bill_id"])])
    assert len(reported) == 2
    await overdue_scan(billing, "2025-08-17")
    assert len(await events(billing, "ArrearsSettled", person)) == 1
