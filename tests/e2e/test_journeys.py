"""The resident journeys of DESIGN.md §1, across the four services running as processes,
driven only through HTTP (shared/journey.py) as a resident, caseworker, channel and operator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.journey import resident_journey

pytestmark = pytest.mark.e2e


def test_journey_1_apply_approve_bill_remind_pay_and_look_up(client):
    steps: list[str] = []

    seen = resident_journey(client, say=steps.append)

    assert sorted(e["programme"] for e in seen["enrollments"]) == ["medical_employee", "pension"]
    bill = seen["bill"]
    amounts = {line["programme"]: Decimal(line["amount"]) for line in bill["lines"]}
    assert amounts == {"pension": Decimal("1432.40"), "medical_employee": Decimal("584.92")}
    assert Decimal(bill["total"]) == Decimal("2017.32")
    assert seen["voucher_valid"] is True
    statement = seen["statement"]
    assert Decimal(statement["pension_personal_account"]) == Decimal("572.96")  # 7162 × 8%
    pension = next(p for p in statement["programmes"] if p["programme"] == "pension")
    assert pension["months_paid"] == [bill["first_month"]]
    templates = {notice["template"] for notice in seen["inbox"]}
    assert {"application_received", "enrolment_active", "bill_issued", "payment_reminder_7d",
            "payment_received"} <= templates
    assert all(notice["language"] == "en" for notice in seen["inbox"])
    receipt = next(n for n in seen["inbox"] if n["template"] == "payment_received")
    assert seen["payment"]["voucher_no"] in receipt["text"]
    assert any("bill" in step and "2017.32" in step for step in steps)
