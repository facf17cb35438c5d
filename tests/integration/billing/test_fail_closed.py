"""Billing fails closed: operator jobs bounded in time and rehearsable, money only as the schema
says, payments within their cap and dates — every refusal a 422 naming the field, no row changed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.periods import business_date, now_utc
from tests.integration.billing.story import (
    BACK_RUN,
    a_payment,
    an_active_enrolment,
    billing_run,
    bills_of,
    events,
    on,
    overdue_scan,
)

pytestmark = pytest.mark.integration


async def bill_count(billing) -> int:
    async with billing.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM bills")


async def run(billing, job: str, **body):
    return await billing.client.post(f"/v1/ops/{job}", json=body, headers=billing.auth("ops"))


@pytest.mark.parametrize("as_of", ["9999-12-31", "3026-01-01"])
async def test_a_run_far_ahead_of_the_clock_is_refused_and_changes_no_row(billing, as_of):
    await an_active_enrolment(billing)
    before = await bill_count(billing)

    answer = await run(billing, "billing-run", as_of=as_of)

    assert answer.status_code == 422
    assert [item["field"] for item in answer.json()["detail"]] == ["body.as_of"]
    assert await bill_count(billing) == before


async def test_a_back_run_must_say_why_and_nothing_runs_before_2000(billing):
    long_ago = (business_date(now_utc()) - timedelta(days=400)).isoformat()

    silent = await run(billing, "overdue-scan", as_of=long_ago)
    explained = await run(billing, "overdue-scan", as_of=long_ago, back_run_reason="re-run after the outage")
    ancient = await run(billing, "billing-run", as_of="0001-01-01", back_run_reason="just because")

    assert (silent.status_code, silent.json()["detail"][0]["field"]) == (422, "body.back_run_reason")
    assert explained.status_code == 200
    assert (ancient.status_code, ancient.json()["detail"][0]["field"]) == (422, "body.as_of")


async def test_a_dry_run_reports_the_bills_it_would_issue_and_issues_none(billing):
    person = await an_active_enrolment(billing)

    rehearsed = await run(billing, "billing-run", as_of="2025-06-25", dry_run=True, back_run_reason=BACK_RUN)

    assert rehearsed.status_code == 200
    assert await bills_of(billing, person) == []
    assert await events(billing, "PremiumDue", person) == []
    real = await billing_run(billing, "2025-06-25")
    figures = ("bills", "lines", "repriced", "credit_applied")
    assert {key: rehearsed.json()[key] for key in figures} == {key: real[key] for key in figures}
    assert (rehearsed.json()["dry_run"], real["dry_run"]) == (True, False)
    assert len(await bills_of(billing, person)) == 1


async def test_a_dry_overdue_scan_reports_notices_and_sends_none(billing):
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")

    rehearsed = await run(billing, "overdue-scan", as_of="2025-08-30", dry_run=True, back_run_reason=BACK_RUN)

    assert rehearsed.json()["notices"] >= 1
    assert await events(billing, "PaymentOverdue", person) == []
    assert [bill["status"] for bill in await bills_of(billing, person)] == ["open"]
    real = await overdue_scan(billing, "2025-08-30")
    assert real["notices"] == rehearsed.json()["notices"]  # the other stories' persons are in both
    assert len(await events(billing, "PaymentOverdue", person)) == 1


@pytest.mark.parametrize("amount, reason", [
    ("1e2", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("１００", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    (" 100", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    (100, 'must be a decimal string like "1234.50", not a int'),
    ("1" * 30, "money has at most 12 digits before the point"),
    ("100.001", "money has at most 2 decimal places, got 100.001"),
    ("9999999999.99", "one payment carries at most 500000.00; split larger sums"),
])
async def test_money_that_the_schema_refuses_is_a_422_naming_the_amount(billing, amount, reason):
    person = await an_active_enrolment(billing)
    body = {**a_payment(person, "1"), "amount": amount}

    answer = await billing.client.post("/v1/payments", json=body, headers=billing.auth("channel", sub="unionpay"))

    assert answer.status_code == 422
    assert [(item["field"], item["reason"]) for item in answer.json()["detail"]] == [("body.amount", reason)]


async def test_a_payment_dated_long_before_the_cover_began_is_refused(billing):
    person = await an_active_enrolment(billing)
    body = {**a_payment(person, "100.00"), "paid_at": "1999-01-01T00:00:00+00:00"}

    answer = await billing.client.post("/v1/payments", json=body, headers=billing.auth("channel", sub="unionpay"))

    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {"field": "body.paid_at", "reason": "a payment cannot be dated before 2025-05-01 (cover begins 2025-07)"}]
    assert await events(billing, "PremiumPaid", person) == []


async def test_a_nul_in_a_label_or_a_path_is_a_422_not_a_500(billing):
    person = await an_active_enrolment(billing)
    body = {**a_payment(person, "100.00", paid_at=on("2025-07-10")), "channel_txn_id": "T-\u0000-1"}

    in_body = await billing.client.post("/v1/payments", json=body, headers=billing.auth("channel", sub="unionpay"))
    in_path = await billing.client.get("/v1/vouchers/110000-2025%00", headers=billing.auth("channel", sub="unionpay"))

    assert (in_body.status_code, in_body.json()["detail"][0]["field"]) == (422, "body.channel_txn_id")
    assert (in_path.status_code, in_path.json()["detail"][0]["field"]) == (422, "path")


async def test_a_channel_token_posts_only_its_own_channels_payments_for_its_regions_payers(billing):
    person = await an_active_enrolment(billing)  # a Beijing account
    body = a_payment(person, "100.00", paid_at=on("2025-07-10"))

    other_channel = await billing.client.post("/v1/payments", json={**body, "channel": "alipay"},
                                              headers=billing.auth("channel", sub="unionpay"))
    other_region = await billing.client.post("/v1/payments", json=body,
                                             headers=billing.auth("channel", sub="unionpay", region="310000"))

    assert (other_channel.status_code, other_channel.json()["detail"]) == (
        403, [{"reason": "this token is for channel unionpay, not alipay"}])
    assert (other_region.status_code, other_region.json()["detail"]) == (
        403, [{"reason": "this channel token is for region 310000; the person's account is in 110000"}])
    assert await events(billing, "PremiumPaid", person) == []
