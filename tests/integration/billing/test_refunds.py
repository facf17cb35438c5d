"""Refunds: credit paid back through the channels it came from, never more than the credit, once
per request id, announced with a signed voucher; credit from months after termination."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.events import EnrollmentTerminated
from tests.integration.billing.story import (
    a_payment,
    an_active_enrolment,
    billing_run,
    deliver,
    events,
    on,
    overdue_scan,
    pay,
)

pytestmark = pytest.mark.integration


def _refund(billing, person, *, amount: str | None = None, request_id: str | None = None, reason="paid_twice",
            as_role: str = "resident"):
    body = {"request_id": request_id or f"R-{uuid.uuid4().hex[:10]}", "reason": reason}
    if amount is not None:
        body["amount"] = amount
    headers = billing.auth("resident", sub=person.person_id) if as_role == "resident" else billing.auth(as_role)
    return billing.client.post(f"/v1/persons/{person.person_id}/refunds", json=body, headers=headers)


async def a_person_who_paid_twice(billing):
    """July's pension bill (1432.40) paid through unionpay, then again through alipay."""
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    await pay(billing, person, "1432.40", paid_at=on("2025-07-05"), channel="unionpay")
    await pay(billing, person, "1500.00", paid_at=on("2025-07-06"), channel="alipay")
    return person


async def test_the_credit_goes_back_through_the_channel_that_left_it_with_a_signed_voucher(billing):
    person = await a_person_who_paid_twice(billing)

    response = await _refund(billing, person, amount="1000.00")

    assert response.status_code == 201, response.text
    refund = response.json()
    assert (refund["amount"], refund["credit_balance"]) == ("1000.00", "500.00")
    assert [(p["channel"], p["amount"]) for p in refund["parts"]] == [("alipay", "1000.00")]
    [issued] = await events(billing, "RefundIssued", person)
    assert (str(issued.data.refund_id), issued.data.amount, issued.data.channel, issued.data.voucher_no,
            issued.data.credit_balance) == (refund["refund_id"], 1000, "alipay", refund["voucher_no"], 500)
    voucher = (await billing.client.get(f"/v1/vouchers/{refund['voucher_no']}",
                                        headers=billing.auth("resident", sub=person.person_id))).json()
    assert voucher["document"]["kind"] == "refund"
    assert voucher["document"]["total"] == "1000.00"
    presented = await billing.client.post("/v1/vouchers/verify", json={
        "document": voucher["document"], "signature": voucher["signature"]})
    assert presented.json()["valid"] is True
    forged = await billing.client.post("/v1/vouchers/verify", json={
        "document": {**voucher["document"], "total": "5000.00"}, "signature": voucher["signature"]})
    assert forged.json()["valid"] is False
    resident = billing.auth("resident", sub=person.person_id)
    listed = (await billing.client.get(f"/v1/persons/{person.person_id}/refunds", headers=resident)).json()
    bills = (await billing.client.get(f"/v1/persons/{person.person_id}/bills", headers=resident)).json()
    assert [r["refund_id"] for r in listed["refunds"]] == [r["refund_id"] for r in bills["refunds"]] == [
        refund["refund_id"]]


async def test_a_refund_never_exceeds_the_credit(billing):
    person = await a_person_who_paid_twice(billing)

    too_much = await _refund(billing, person, amount="1500.01")
    bad_money = await _refund(billing, person, amount="10.001")
    as_number = await billing.client.post(f"/v1/persons/{person.person_id}/refunds",
                                          json={"request_id": "R-1", "reason": "other", "amount": 10},
                                          headers=billing.auth("resident", sub=person.person_id))

    assert too_much.status_code == 422
    assert too_much.json()["detail"] == [{"field": "body.amount",
                                          "reason": "a refund cannot exceed the credit of 1500.00"}]
    assert bad_money.status_code == 422
    assert as_number.status_code == 422
    assert await events(billing, "RefundIssued", person) == []


async def test_all_the_credit_is_refunded_once_per_request_id_even_when_asked_at_once(billing):
    person = await a_person_who_paid_twice(billing)

    first, second = await asyncio.gather(_refund(billing, person, request_id="R-all"),
                                         _refund(billing, person, request_id="R-all"))
    again_for_another_amount = await _refund(billing, person, request_id="R-all", amount="1.00")
    nothing_left = await _refund(billing, person)

    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json() == second.json()
    assert first.json()["amount"] == "1500.00"
    assert again_for_another_amount.status_code == 409
    assert nothing_left.status_code == 422
    assert len(await events(billing, "RefundIssued", person)) == 1
    statement = (await billing.client.get(f"/v1/persons/{person.person_id}/statement",
                                          headers=billing.auth("resident", sub=person.person_id))).json()
    assert (statement["credit_balance"], statement["refunded_total"]) == ("0.00", "1500.00")
    assert statement["refunds"][0]["refund_id"] == first.json()["refund_id"]
    assert statement["links"]["pension_estimate"] == f"/v1/persons/{person.person_id}/pension-estimate"


async def test_a_caseworker_refunds_for_a_resident_but_not_for_another_region_or_another_person(billing):
    person = await a_person_who_paid_twice(billing)
    other = await an_active_enrolment(billing)

    by_caseworker = await _refund(billing, person, amount="100.00", as_role="caseworker")
    elsewhere = await billing.client.post(
        f"/v1/persons/{person.person_id}/refunds", json={"request_id": "R-x", "reason": "other"},
        headers=billing.auth("caseworker", region="310000"))
    for_another = await billing.client.post(
        f"/v1/persons/{person.person_id}/refunds", json={"request_id": "R-y", "reason": "other"},
        headers=billing.auth("resident", sub=other.person_id))

    assert by_caseworker.status_code == 201
    assert (elsewhere.status_code, for_another.status_code) == (403, 403)


async def test_months_paid_ahead_of_a_termination_become_refundable_credit(billing):
    person = await an_active_enrolment(billing, frequency="quarterly")
    await billing_run(billing, "2025-06-25")
    await pay(billing, person, "4297.20", paid_at=on("2025-07-05"))  # July to September

    await deliver(billing, EnrollmentTerminated(enrollment_id=person.enrolments["pension"],
                                                person_id=person.person_id, programme="pension",
                                                reason="moved away", last_month="2025-07"))
    refund = await _refund(billing, person, reason="terminated")

    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == "2864.80"  # August and September
    assert [(p["channel"], p["amount"]) for p in refund.json()["parts"]] == [("unionpay", "2864.80")]
    statement = (await billing.client.get(f"/v1/persons/{person.person_id}/statement",
                                          headers=billing.auth("resident", sub=person.person_id))).json()
    [pension] = statement["programmes"]
    assert pension["months_paid"] == ["2025-07"]


async def test_what_was_paid_on_months_shanghai_marks_missed_goes_back_to_the_payment(billing):
    # July's bill 1492.00 partly paid (1000.00 through wechat); 90 days after its due date it is missed
    person = await an_active_enrolment(billing, region="310000", base="7460")
    await billing_run(billing, "2025-06-25", region="310000")
    paid = await billing.client.post("/v1/payments", json=a_payment(person, "1000.00", paid_at=on("2025-07-05"),
                                                                     channel="wechat"),
                                     headers=billing.auth("channel", sub="wechat", region="310000"))
    assert paid.status_code == 201, paid.text
    await overdue_scan(billing, "2025-10-14", region="310000")

    refund = await billing.client.post(
        f"/v1/persons/{person.person_id}/refunds", json={"request_id": "R-missed", "reason": "missed_months"},
        headers=billing.auth("resident", sub=person.person_id, region="310000"))

    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == "1000.00"
    assert [(p["channel"], p["amount"]) for p in refund.json()["parts"]] == [("wechat", "1000.00")]
    [issued] = await events(billing, "RefundIssued", person)
    assert issued.region == "310000"


async def test_a_payment_arriving_after_the_cover_ended_is_refundable(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    await pay(billing, person, "1432.40", paid_at=on("2025-07-05"))
    await deliver(billing, EnrollmentTerminated(enrollment_id=person.enrolments["pension"],
                                                person_id=person.person_id, programme="pension",
                                                reason="moved away", last_month="2025-07"))

    late = await pay(billing, person, "1432.40", paid_at=on("2025-08-10"), channel="alipay")
    refund = await _refund(billing, person, reason="terminated")

    assert late["applied"] == [] and late["credit_balance"] == "1432.40"
    assert [(p["channel"], p["amount"]) for p in refund.json()["parts"]] == [("alipay", "1432.40")]
