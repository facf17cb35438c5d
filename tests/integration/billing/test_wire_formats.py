"""What the fuzzer found in billing: inputs outside the published schema that were accepted (a date
given as a number, an instant for a date, full-width digits in a region) or answered with a 500
(an instant at the edge of the calendar, JSON nested without end). Each is now a 4xx naming where."""

from __future__ import annotations

import pytest

from shared.periods import business_date, now_utc
from tests.integration.billing.story import a_payment, an_active_enrolment, events

pytestmark = pytest.mark.integration

FULL_WIDTH_BEIJING = "１１００００"


def fields(answer) -> list[str]:
    return [item["field"] for item in answer.json()["detail"]]


@pytest.mark.parametrize("on", ["0", "1780000000", "2026-12-08T00:00:00", "0001-01-01"])
async def test_policies_on_a_day_that_is_no_published_date_are_a_422(billing, on):
    answer = await billing.client.get("/v1/policies", params={"on": on}, headers=billing.auth("caseworker"))

    assert (answer.status_code, fields(answer)) == (422, ["query.on"])


async def test_a_region_in_full_width_digits_is_no_region(billing):
    policies = await billing.client.get("/v1/policies", params={"region": FULL_WIDTH_BEIJING},
                                        headers=billing.auth("caseworker"))
    job = await billing.client.post("/v1/ops/overdue-scan", headers=billing.auth("ops"),
                                    json={"as_of": str(business_date(now_utc())), "region": FULL_WIDTH_BEIJING})

    assert (policies.status_code, fields(policies)) == (422, ["query.region"])
    assert (job.status_code, fields(job)) == (422, ["body.region"])


async def test_a_job_date_given_as_an_instant_or_a_number_is_a_422(billing):
    today = business_date(now_utc())

    as_instant = await billing.client.post("/v1/ops/billing-run", headers=billing.auth("ops"),
                                           json={"as_of": f"{today}T00:00:00", "dry_run": True})
    as_number = await billing.client.post("/v1/ops/billing-run", headers=billing.auth("ops"),
                                          json={"as_of": 1780000000, "dry_run": True})

    assert (as_instant.status_code, fields(as_instant)) == (422, ["body.as_of"])
    assert (as_number.status_code, fields(as_number)) == (422, ["body.as_of"])


@pytest.mark.parametrize("paid_at", [1780000000, "1780000000", "2025-07-10T10:00", "2025-07-10 10:00:00+08:00",
                                     "9999-12-31T23:59:59-14:00"])
async def test_a_payment_time_outside_rfc_3339_is_a_422_and_no_payment(billing, paid_at):
    person = await an_active_enrolment(billing)
    body = {**a_payment(person, "100.00"), "paid_at": paid_at}

    answer = await billing.client.post("/v1/payments", json=body, headers=billing.auth("channel", sub="unionpay"))

    assert (answer.status_code, fields(answer)) == (422, ["body.paid_at"])
    assert await events(billing, "PremiumPaid", person) == []


@pytest.mark.parametrize("before", ["0.5", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "2026-12-08T10:00:00"])
async def test_the_audit_trail_before_an_instant_outside_rfc_3339_is_a_422_not_a_500(billing, before):
    answer = await billing.client.get("/v1/audit/staff-actions", params={"before": before},
                                      headers=billing.auth("admin"))

    assert (answer.status_code, fields(answer)) == (422, ["query.before"])


async def test_a_presented_voucher_nested_without_end_is_a_422_not_a_500(billing):
    answer = await billing.client.post("/v1/vouchers/verify", content="[" * 100_000 + "]" * 100_000,
                                       headers={"content-type": "application/json"})

    assert (answer.status_code, fields(answer)) == (422, ["body"])
