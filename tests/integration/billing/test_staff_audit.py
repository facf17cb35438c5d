"""The audit trail of staff writes: who, when, what and why, read by the region's admins, changed by nobody."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from tests.integration.billing.story import BACK_RUN, a_payment, an_active_enrolment, months_from_today

pytestmark = pytest.mark.integration

SHENZHEN = "440300"


async def staff_actions(billing, region: str = SHENZHEN) -> list[dict]:
    answer = await billing.client.get("/v1/audit/staff-actions", headers=billing.auth("admin", region=region))
    assert answer.status_code == 200, answer.text
    return answer.json()["actions"]


def a_version(effective_from) -> dict:
    return {
        "region": SHENZHEN, "programme": "unemployment", "effective_from": str(effective_from), "rate": "0.01",
        "base_floor": "2360.00", "base_ceiling": "38892.00", "frequencies": ["monthly"], "due_day": 15,
        "grace_days": 0, "late_fee_daily_rate": "0.0005", "back_payment_allowed": True,
    }


async def test_a_published_policy_is_recorded_with_who_what_and_the_request_id(billing):
    admin = billing.auth("admin", sub="admin-zhao", region=SHENZHEN)

    published = await billing.client.post("/v1/policies", json=a_version(months_from_today(7)), headers=admin)

    assert published.status_code == 201, published.text
    [action] = [a for a in await staff_actions(billing) if a["request_id"] == published.headers["x-request-id"]]
    assert (action["actor_sub"], action["actor_role"], action["actor_region"]) == ("admin-zhao", "admin", SHENZHEN)
    assert (action["method"], action["route"], action["outcome"]) == ("POST", "/v1/policies", "changed")
    assert action["request"]["body"]["programme"] == "unemployment"


async def test_a_job_run_is_recorded_with_its_parameters_and_reason_even_when_it_changes_nothing(billing):
    ops = billing.auth("ops", sub="ops-liu", region=SHENZHEN)
    as_of = (months_from_today(0) - timedelta(days=400)).isoformat()

    dry = await billing.client.post("/v1/ops/billing-run", headers=ops,
                                    json={"as_of": as_of, "dry_run": True, "back_run_reason": BACK_RUN})
    refused = await billing.client.post("/v1/ops/billing-run", headers=ops, json={"as_of": as_of})

    actions = {a["request_id"]: a for a in await staff_actions(billing)}
    rehearsal, refusal = actions[dry.headers["x-request-id"]], actions[refused.headers["x-request-id"]]
    assert (rehearsal["outcome"], rehearsal["reason"], rehearsal["route"]) == (
        "answered 200", BACK_RUN, "/v1/ops/billing-run")
    assert rehearsal["request"]["body"] == {"as_of": as_of, "dry_run": True, "back_run_reason": BACK_RUN}
    assert (refusal["outcome"], refusal["reason"]) == ("answered 422", None)


async def test_a_channels_payment_is_no_staff_action(billing):
    person = await an_active_enrolment(billing)
    payment = await billing.client.post("/v1/payments", json=a_payment(person, "10.00"),
                                        headers=billing.auth("channel", sub="unionpay"))

    assert payment.status_code == 201
    assert payment.headers["x-request-id"] not in {a["request_id"] for a in await staff_actions(billing, "110000")}


async def test_only_admins_read_the_trail_and_only_their_regions(billing):
    caseworker = await billing.client.get("/v1/audit/staff-actions", headers=billing.auth("caseworker"))
    beijing = await staff_actions(billing, "110000")

    assert caseworker.status_code == 403
    assert all(action["actor_region"] == "110000" for action in beijing)


async def test_the_trail_cannot_be_changed_or_removed(billing):
    await billing.client.post("/v1/ops/overdue-scan", headers=billing.auth("ops", region=SHENZHEN),
                              json={"as_of": str(months_from_today(0))})

    async with billing.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE staff_actions SET reason = 'nothing happened'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM staff_actions")
