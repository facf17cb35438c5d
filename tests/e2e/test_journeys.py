"""The resident journeys of DESIGN.md §1, across the four services running as processes,
driven only through HTTP (tooling/journey.py) as a resident, caseworker, channel and operator."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from shared.periods import DEFAULT_TZ, Month
from tooling.journey import (
    Caseworker,
    Operator,
    PaymentChannel,
    Resident,
    a_resident_id_number,
    billing_date_for,
    enrol_resident,
    resident_journey,
    sample_files,
    today_in_region,
)

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


def test_journey_2_rejected_material_is_uploaded_again_then_approved(client):
    resident = Resident(client, a_resident_id_number(), language="zh-CN")
    resident.apply(["pension", "medical_employee"], "8000.00")
    resident.dossier()
    files = sample_files()
    for material, file in files.items():
        resident.upload(material, file)

    def reject_id_card(item: dict) -> dict:
        if item["material"] == "id_card":
            return {"decision": "reject", "reason": "illegible"}
        return {"decision": "approve"}

    Caseworker(client).review_all(resident.application_id, reject_id_card)

    application = client.wait_for("the rejection to reach enrollment", lambda: _with_rejection(resident))
    assert [m["material"] for m in application["rejected_materials"]] == ["id_card"]
    assert application["status"] == "awaiting_documents"
    [notice] = resident.wait_for_notice("materials_rejected")
    assert notice["language"] == "zh-CN"
    assert resident.enrollments() == []

    resident.upload("id_card", files["id_card"])
    reviewed = Caseworker(client).review_all(resident.application_id)

    assert [r["material"] for r in reviewed] == ["id_card"]
    assert len(resident.wait_for_enrollments("active", 2)) == 2


def test_journey_3_unpaid_bill_escalates_suspends_and_back_payment_reinstates(client, clock):
    operator, channel = Operator(client), PaymentChannel(client)
    resident, enrollments = enrol_resident(client, say=lambda _: None)
    operator.billing_run(billing_date_for(enrollments[0]["start_month"], today_in_region(client)))
    [bill] = resident.wait_for_bills(1)
    due = date.fromisoformat(bill["due_date"])

    for level in (1, 30, 60, 90):
        # the scan runs for its day: operator runs stay within a window around the clock
        clock.advance_to(datetime.combine(due + timedelta(days=level), time(9, 0), tzinfo=DEFAULT_TZ))
        operator.overdue_scan(due + timedelta(days=level))
        notices = resident.wait_for_notice("payment_overdue", count=(1, 30, 60, 90).index(level) + 1)
        assert any(f"{level}" in notice["text"] for notice in notices)

    suspended = resident.wait_for_enrollments("suspended", 2)
    assert {e["programme"] for e in suspended} == {"pension", "medical_employee"}
    resident.wait_for_notice("coverage_suspended", count=2)

    paid_at = datetime.combine(due + timedelta(days=91), time(10, 0), tzinfo=DEFAULT_TZ)
    clock.advance_to(paid_at)
    [owed] = resident.bills(status="overdue")
    late_fee = Decimal(owed["late_fee_to_date"])
    assert late_fee == (Decimal(owed["outstanding"]) * Decimal("0.0005") * 91).quantize(Decimal("0.01"))
    payment = channel.pay(resident.person_id, Decimal(owed["outstanding"]) + late_fee, paid_at=paid_at)

    assert sum(Decimal(a["late_fee"]) for a in payment["applied"]) == late_fee
    reinstated = resident.wait_for_enrollments("active", 2)
    assert all(e["status"] == "active" for e in reinstated)
    resident.wait_for_notice("coverage_reinstated", count=2)
    resident.wait_for_notice("payment_received")


def test_journey_4_new_policy_reaches_the_resident_and_prices_the_next_bill(client):
    operator = Operator(client)
    resident, enrollments = enrol_resident(client, say=lambda _: None)
    start = Month.parse(enrollments[0]["start_month"])
    new_version_from = start.next().first_day
    client.call("POST", "billing", "/v1/policies", role="admin", json={
        "region": "110000", "programme": "pension", "effective_from": str(new_version_from),
        "base_floor": "7500.00", "base_ceiling": "37500.00", "rate": "0.20", "personal_account_rate": "0.08",
        "frequencies": ["monthly", "quarterly", "half_yearly", "annual"], "due_day": 15, "grace_days": 0,
        "late_fee_daily_rate": "0.0005", "back_payment_allowed": True,
    })

    operator.billing_run(new_version_from)

    [notice] = resident.wait_for_notice("policy_changed")
    assert "1,500.00" in notice["text"] or "1500.00" in notice["text"]
    assert "1,432.40" in notice["text"] or "1432.40" in notice["text"]
    bills = resident.wait_for_bills(2)
    next_bill = next(b for b in bills if b["first_month"] == str(start.next()))
    pension = [line for line in next_bill["lines"] if line["programme"] == "pension"]
    assert [Decimal(line["amount"]) for line in pension] == [Decimal("1500.00")]


def _with_rejection(resident: Resident) -> dict | None:
    application = resident.as_me("GET", "enrollment", f"/v1/applications/{resident.application_id}")
    return application if application["rejected_materials"] else None
