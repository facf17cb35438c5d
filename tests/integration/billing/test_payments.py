"""Payments: oldest bill first, late fee before principal, credit; one payment per channel
transaction even under concurrent duplicates; a signed voucher for each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.billing.story import (
    a_payment,
    an_active_enrolment,
    billing_run,
    bills_of,
    events,
    on,
    pay,
)

pytestmark = pytest.mark.integration


async def test_a_payment_settles_the_bill_and_is_announced_with_a_voucher(billing):
    person = await an_active_enrolment(billing, programmes=("pension", "medical_employee"))
    await billing_run(billing, "2025-06-25")
    [bill] = await bills_of(billing, person)

    paid = await pay(billing, person, "2017.32", paid_at=on("2025-07-10"))

    assert paid["applied"] == [{"bill_id": bill["bill_id"], "principal": "2017.32", "late_fee": "0.00",
                                "settled": True}]
    assert paid["credit_balance"] == "0.00"
    assert paid["voucher_no"].startswith("110000-2025-")
    [announced] = await events(billing, "PremiumPaid", person)
    assert str(announced.data.payment_id) == paid["payment_id"]
    assert announced.data.voucher_no == paid["voucher_no"]
    assert [(str(a.bill_id), a.principal) for a in announced.data.applied] == [(bill["bill_id"], Decimal("2017.32"))]
    [settled] = await bills_of(billing, person, status="paid")
    assert settled["outstanding"] == "0.00"


async def test_the_voucher_can_be_fetched_verified_and_tampering_is_detected(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    paid = await pay(billing, person, "1432.40", paid_at=on("2025-07-12"))
    resident = billing.auth("resident", sub=person.person_id)

    voucher = (await billing.client.get(f"/v1/vouchers/{paid['voucher_no']}", headers=resident)).json()
    verified = await billing.client.get(f"/v1/vouchers/{paid['voucher_no']}/verify", headers=resident)
    presented = await billing.client.post("/v1/vouchers/verify", headers=resident, json={
        "document": voucher["document"], "signature": voucher["signature"]})
    forged = await billing.client.post("/v1/vouchers/verify", headers=resident, json={
        "document": {**voucher["document"], "total": "14324.00"}, "signature": voucher["signature"]})

    document = voucher["document"]
    assert (document["payer"], document["total"], document["principal"], document["late_fee"]) == (
        str(person.person_id), "1432.40", "1432.40", "0.00")
    assert document["months_covered"] == {"pension": ["2025-07"]}
    assert (document["channel"], document["channel_txn_id"]) == ("unionpay", paid["channel_txn_id"])
    assert voucher["algorithm"] == "Ed25519"
    assert verified.json()["valid"] is True
    assert presented.json()["valid"] is True
    assert forged.json()["valid"] is False

    async with billing.pool.acquire() as conn:
        await conn.execute("UPDATE vouchers SET document = jsonb_set(document, '{total}', '\"1.00\"') "
                           "WHERE voucher_no = $1", paid["voucher_no"])
    tampered = await billing.client.get(f"/v1/vouchers/{paid['voucher_no']}/verify", headers=resident)
    assert tampered.json()["valid"] is False


async def test_twenty_concurrent_identical_payments_are_one_payment(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    body = a_payment(person, "1432.40", txn="DUP-1")

    unionpay = billing.auth("channel", sub="unionpay")
    responses = await asyncio.gather(*[
        billing.client.post("/v1/payments", json=body, headers=unionpay) for _ in range(20)])

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.text for r in responses}) == 1
    assert len(await events(billing, "PremiumPaid", person)) == 1
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments WHERE person_id = $1", person.person_id) == 1
        assert await conn.fetchval("SELECT count(*) FROM vouchers WHERE person_id = $1", person.person_id) == 1


async def test_concurrent_payments_of_one_person_each_see_what_the_one_before_paid(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")  # July: 1432.40
    unionpay = billing.auth("channel", sub="unionpay")

    responses = await asyncio.gather(*[
        billing.client.post("/v1/payments", json=a_payment(person, "300.00"), headers=unionpay) for _ in range(6)])

    assert [r.status_code for r in responses] == [201] * 6
    principals = sorted(Decimal(r.json()["applied"][0]["principal"]) for r in responses if r.json()["applied"])
    credits = sorted(Decimal(r.json()["credit_added"]) for r in responses)
    assert sum(principals) == Decimal("1432.40")  # the bill, once: no payment applied to a balance already paid
    assert sum(credits) == Decimal("1800.00") - Decimal("1432.40")
    [bill] = await bills_of(billing, person)
    assert (bill["status"], bill["outstanding"]) == ("paid", "0.00")
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT credit_balance FROM person_accounts WHERE person_id = $1",
                                   person.person_id) == Decimal("367.60")


async def test_partial_payments_go_to_the_oldest_bill_and_an_overpayment_pays_the_next_bill(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-07-25")  # July and August

    first = await pay(billing, person, "1000.00", paid_at=on("2025-07-05"))
    second = await pay(billing, person, "3000.00", paid_at=on("2025-07-06"))
    await billing_run(billing, "2025-08-25")  # September, paid from the credit

    july, august = sorted(await bills_of(billing, person, status="paid"), key=lambda b: b["first_month"])
    assert [part["principal"] for part in first["applied"]] == ["1000.00"]
    assert first["applied"][0]["settled"] is False
    assert [part["principal"] for part in second["applied"]] == ["432.40", "1432.40"]
    assert second["credit_balance"] == "1135.20"
    assert (july["first_month"], august["first_month"]) == ("2025-07", "2025-08")
    september = [b for b in await bills_of(billing, person) if b["first_month"] == "2025-09"][0]
    assert (september["paid"], september["credit_applied"], september["status"]) == ("1135.20", "1135.20", "open")
    [due] = [e for e in await events(billing, "PremiumDue", person) if e.data.months == ("2025-09",)]
    assert due.data.credit_applied == Decimal("1135.20")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1.00"}, "body.amount"),
        ({"amount": "0"}, "body.amount"),
        ({"amount": "10.001"}, "body.amount"),
        ({"amount": 10.5}, "body.amount"),
        ({"paid_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "body.paid_at"),
        ({"paid_at": "2025-07-10T10:00:00"}, "body.paid_at"),
        ({"person_id": "7c1f0a4e-0000-4000-8000-000000000000"}, "body.person_id"),
    ],
    ids=["negative", "zero", "three decimals", "float", "future", "naive time", "unknown person"],
)
async def test_a_payment_that_breaks_a_rule_is_refused_with_its_field(billing, change, field):
    person = await an_active_enrolment(billing)

    response = await billing.client.post("/v1/payments", json={**a_payment(person, "100.00"), **change},
                                         headers=billing.auth("channel", sub="unionpay"))

    assert response.status_code == 422, response.text
    assert field in [item["field"] for item in response.json()["detail"]]
    assert await events(billing, "PremiumPaid", person) == []


async def test_a_transaction_id_reused_for_another_amount_is_a_conflict(billing):
    person = await an_active_enrolment(billing)
    await pay(billing, person, "100.00", txn="REUSED-1")

    response = await billing.client.post("/v1/payments", json=a_payment(person, "200.00", txn="REUSED-1"),
                                         headers=billing.auth("channel", sub="unionpay"))

    assert response.status_code == 409
    assert len(await events(billing, "PremiumPaid", person)) == 1


async def test_only_a_payment_channel_may_post_payments(billing):
    person = await an_active_enrolment(billing)

    response = await billing.client.post("/v1/payments", json=a_payment(person, "100.00"),
                                         headers=billing.auth("resident", sub=person.person_id))

    assert response.status_code == 403
