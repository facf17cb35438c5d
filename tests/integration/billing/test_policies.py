"""Regional policies: the seeded ones announced once; a new version published by an admin,
then, once it takes effect, every open enrolment of the region repriced once and billed by it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from services.billing.domain.pricing import price_cycle
from services.billing.operations.policies import announce_policies
from services.billing.repository.policies import all_policies
from shared.periods import Month
from tests.integration.billing.story import an_active_enrolment, billing_run, events, months_from_today

pytestmark = pytest.mark.integration

SHENZHEN = "440300"


def a_version(effective_from, *, floor: int, ceiling: int, **changes) -> dict:
    return {
        "region": SHENZHEN, "programme": "pension", "effective_from": effective_from.isoformat(),
        "base_floor": str(floor), "base_ceiling": str(ceiling), "rate": "0.16", "personal_account_rate": "0.08",
        "frequencies": ["monthly", "quarterly"], "due_day": 20, "grace_days": 5, "late_fee_daily_rate": "0.0005",
        "back_payment_allowed": True, **changes,
    }


async def test_the_seeded_policies_are_announced_once(billing):
    published = await events(billing, "PolicyPublished")

    seeded = sorted((e.data.region, e.data.programme, str(e.data.effective_from)) for e in published
                    if e.data.region in ("110000", "310000"))
    assert seeded == [
        ("110000", "medical_employee", "2025-07-01"), ("110000", "pension", "2025-07-01"),
        ("110000", "unemployment", "2025-07-01"), ("310000", "medical_employee", "2025-07-01"),
        ("310000", "pension", "2025-07-01"),
    ]
    assert await announce_policies(billing.runtime) == 0
    anyone = billing.auth("resident", sub="4f0e6c1a-0000-4000-8000-000000000001")
    beijing = (await billing.client.get("/v1/policies", params={"region": "110000", "on": "2025-08-01"},
                                        headers=anyone)).json()
    pension = [p for p in beijing["policies"] if p["programme"] == "pension"][0]
    assert (pension["base_floor"], pension["base_ceiling"], pension["rate"]) == ("7162.00", "35811.00", "0.20")


async def test_a_new_version_reprices_open_enrolments_once_and_prices_the_next_bills(billing):
    start, change = months_from_today(2), months_from_today(4)
    admin = billing.auth("admin", region=SHENZHEN)
    first = await billing.client.post("/v1/policies", json=a_version(start, floor=8000, ceiling=40000), headers=admin)
    second = await billing.client.post("/v1/policies", json=a_version(change, floor=8500, ceiling=42000),
                                       headers=admin)
    assert (first.status_code, second.status_code) == (201, 201)
    person = await an_active_enrolment(billing, region=SHENZHEN, frequency="quarterly", base="8000",
                                       start=str(Month.of(start)))

    await billing_run(billing, (start - timedelta(days=5)).isoformat(), region=SHENZHEN)
    await billing_run(billing, change.isoformat(), region=SHENZHEN)
    await billing_run(billing, change.isoformat(), region=SHENZHEN)

    [quarter] = await events(billing, "PremiumDue", person)
    versions = await _versions(billing)
    expected = price_cycle(versions, SHENZHEN, "pension", Month.of(start), "quarterly", Decimal("8000"))
    assert [(line.month, line.base, line.amount) for line in quarter.data.lines] == [
        (str(line.month), line.base, line.amount) for line in expected]
    assert [line.amount for line in quarter.data.lines] == [Decimal("1280.00"), Decimal("1280.00"),
                                                           Decimal("1360.00")]
    assert quarter.data.due_date == start.replace(day=20)
    [repriced] = await events(billing, "ContributionRepriced", person)
    assert repriced.data.effective_month == str(Month.of(change))
    assert (repriced.data.old_base, repriced.data.new_base) == (Decimal("8000.00"), Decimal("8500.00"))
    assert (repriced.data.old_monthly_amount, repriced.data.new_monthly_amount) == (
        Decimal("1280.00"), Decimal("1360.00"))
    assert repriced.subject == str(person.enrolments["pension"])

    await billing_run(billing, (Month.of(start).plus(3).first_day - timedelta(days=5)).isoformat(), region=SHENZHEN)
    next_quarter = (await events(billing, "PremiumDue", person))[-1].data
    assert [line.amount for line in next_quarter.lines] == [Decimal("1360.00")] * 3
    published = [e.data for e in await events(billing, "PolicyPublished") if e.data.region == SHENZHEN]
    assert [p.effective_from for p in published] == [start, change]


async def _versions(billing):
    async with billing.pool.acquire() as conn:
        return await all_policies(conn)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effective_from": "2025-01-01"}, "body.effective_from"),
        ({"base_floor": "50000"}, "body.base_ceiling"),
        ({"flat_amount": "500.00", "flat_period": "month"}, "body.rate"),
        ({"rate": "1.5"}, "body.rate"),
        ({"frequencies": []}, "body.frequencies"),
    ],
    ids=["in the past", "floor above ceiling", "rate and flat", "rate above 1", "no frequency"],
)
async def test_an_invalid_version_is_refused_with_its_field(billing, change, field):
    version = {**a_version(months_from_today(6), floor=8000, ceiling=40000), **change}

    response = await billing.client.post("/v1/policies", json=version, headers=billing.auth("admin", region=SHENZHEN))

    assert response.status_code == 422, response.text
    assert field in [item["field"] for item in response.json()["detail"]]


async def test_a_version_is_published_once_and_only_by_an_admin_of_its_region(billing):
    version = a_version(months_from_today(8), floor=8000, ceiling=40000)

    created = await billing.client.post("/v1/policies", json=version, headers=billing.auth("admin", region=SHENZHEN))
    again = await billing.client.post("/v1/policies", json=version, headers=billing.auth("admin", region=SHENZHEN))
    elsewhere = await billing.client.post("/v1/policies", json=version, headers=billing.auth("admin", region="110000"))
    caseworker = await billing.client.post("/v1/policies", json=version,
                                           headers=billing.auth("caseworker", region=SHENZHEN))

    assert (created.status_code, again.status_code, elsewhere.status_code, caseworker.status_code) == (
        201, 409, 403, 403)


async def test_a_regional_deployment_announces_only_its_own_seeded_policies(infrastructure, unique_name):
    from services.billing.app import SERVICE
    from tests.service_harness import running_service

    async with running_service(infrastructure, SERVICE, prefix=f"{unique_name}.",
                               billing_seed_regions="310000") as shanghai:
        published = await events(shanghai, "PolicyPublished")

    assert sorted({e.data.region for e in published}) == ["310000"]
    assert sorted(e.data.programme for e in published) == ["medical_employee", "pension"]
