"""The life of an enrolment: billing's overdue and settled events, changes and termination."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.periods import Month, business_date, now_utc

from .conftest import SHANGHAI, Resident

pytestmark = pytest.mark.integration


def next_month() -> str:
    return str(Month.of(business_date(now_utc())).next())


async def test_overdue_at_level_90_suspends_and_settled_arrears_reinstate(enrollment):
    resident = Resident()
    await enrollment.active_enrolments(resident)

    await enrollment.payment_overdue(resident.person_id, ["pension"], level=60)
    overdue = await enrollment.payment_overdue(resident.person_id, ["pension"], level=90)

    [suspended] = await enrollment.emitted_eventually(resident.person_id, "EnrollmentSuspended", 1)
    assert (suspended.data.programme, suspended.causationid, str(suspended.data.since)) == (
        "pension", overdue.id, "2025-11-13")
    statuses = {e["programme"]: e["status"] for e in await enrollment.enrolments(resident)}
    assert statuses == {"pension": "suspended", "medical_employee": "active"}

    settled = await enrollment.arrears_settled(resident.person_id, ["pension"], at=datetime(2026, 1, 5, tzinfo=UTC))

    [reinstated] = await enrollment.emitted_eventually(resident.person_id, "EnrollmentReinstated", 1)
    assert (reinstated.data.programme, reinstated.causationid, reinstated.data.waiting_until) == (
        "pension", settled.id, None)
    pension = next(e for e in await enrollment.enrolments(resident) if e["programme"] == "pension")
    assert pension["status"] == "active"
    assert [(s["to_status"], s["event_type"], s["cause"]["event_id"]) for s in pension["history"]][1:] == [
        ("suspended", "EnrollmentSuspended", str(overdue.id)),
        ("active", "EnrollmentReinstated", str(settled.id)),
    ]


async def test_medical_resuming_after_a_long_suspension_waits(enrollment):
    resident = Resident()
    await enrollment.active_enrolments(resident, programmes=["medical_employee"])
    await enrollment.payment_overdue(resident.person_id, ["medical_employee"], level=90)  # since 2025-11-13
    await enrollment.emitted_eventually(resident.person_id, "EnrollmentSuspended", 1)

    # December to March without cover: four months → three months' wait from April
    await enrollment.arrears_settled(resident.person_id, ["medical_employee"], at=datetime(2026, 4, 2, tzinfo=UTC))

    [reinstated] = await enrollment.emitted_eventually(resident.person_id, "EnrollmentReinstated", 1)
    assert str(reinstated.data.waiting_until) == "2026-06-30"
    [medical] = await enrollment.enrolments(resident)
    assert (medical["status"], medical["waiting_until"]) == ("active", "2026-06-30")


async def test_changing_the_base_from_the_next_unbilled_month(enrollment):
    resident = Resident()
    pension = next(e for e in await enrollment.active_enrolments(resident) if e["programme"] == "pension")

    response = await enrollment.client.patch(f"/v1/enrollments/{pension['enrollment_id']}",
                                             json={"base": "9000.50", "frequency": "annual"},
                                             headers=enrollment.as_resident(resident))

    assert response.status_code == 200, response.text
    assert (response.json()["base"], response.json()["frequency"], response.json()["terms_from"]) == (
        "9000.50", "annual", next_month())
    [changed] = await enrollment.emitted(resident.person_id, "EnrollmentChanged")
    assert (changed.data.base, changed.data.frequency, changed.data.effective_month) == (
        9000.50, "annual", next_month())
    assert response.json()["history"][-1]["cause"]["request"].startswith("PATCH /v1/enrollments/")


async def test_a_change_outside_the_policy_is_refused(enrollment):
    resident = Resident()
    enrolments = await enrollment.active_enrolments(resident, region=SHANGHAI, declared_base="7460",
                                                    headers=enrollment.as_caseworker(SHANGHAI))
    pension = next(e for e in enrolments if e["programme"] == "pension")
    url = f"/v1/enrollments/{pension['enrollment_id']}"

    below = await enrollment.client.patch(url, json={"base": "7459.99"}, headers=enrollment.as_resident(resident))
    annual = await enrollment.client.patch(url, json={"frequency": "annual"}, headers=enrollment.as_resident(resident))
    nothing = await enrollment.client.patch(url, json={}, headers=enrollment.as_resident(resident))

    assert {(d["field"], d["rule"]) for d in below.json()["detail"]} == {("body.base", "below_floor")}
    assert {(d["field"], d["rule"]) for d in annual.json()["detail"]} == {("body.frequency", "not_allowed")}
    assert (below.status_code, annual.status_code, nothing.status_code) == (422, 422, 422)
    assert await enrollment.emitted(resident.person_id, "EnrollmentChanged") == []


async def test_terminating_an_enrolment(enrollment):
    resident = Resident()
    pension = next(e for e in await enrollment.active_enrolments(resident) if e["programme"] == "pension")
    url = f"/v1/enrollments/{pension['enrollment_id']}"

    response = await enrollment.client.post(f"{url}/terminate", json={"reason": "found an employer"},
                                            headers=enrollment.as_resident(resident))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "terminated"
    [terminated] = await enrollment.emitted(resident.person_id, "EnrollmentTerminated")
    # not started yet (it starts next month): the last covered month is the current one
    assert (terminated.data.reason, terminated.data.last_month) == (
        "found an employer", str(Month.of(business_date(now_utc()))))
    again = await enrollment.client.post(f"{url}/terminate", headers=enrollment.as_resident(resident))
    change = await enrollment.client.patch(url, json={"base": "9000"}, headers=enrollment.as_resident(resident))
    assert (again.status_code, change.status_code) == (409, 409)
    assert (await enrollment.apply(resident, programmes=["pension"])).status_code == 202  # may enrol again


async def test_re_enrolling_in_medical_after_years_without_cover_waits(enrollment):
    resident = Resident()
    [medical] = await enrollment.active_enrolments(resident, programmes=["medical_employee"])
    terminated = await enrollment.client.post(f"/v1/enrollments/{medical['enrollment_id']}/terminate",
                                              headers=enrollment.as_resident(resident))
    assert terminated.status_code == 200
    async with enrollment.pool.acquire() as conn:  # as if that cover had ended two years and a month ago
        last_covered = Month.of(business_date(now_utc())).plus(-25)
        await conn.execute("UPDATE enrollments SET last_month = $2 WHERE enrollment_id = $1",
                           terminated.json()["enrollment_id"], str(last_covered))

    again = await enrollment.an_application(resident, programmes=["medical_employee", "pension"])
    await enrollment.documents_verified(again, resident.person_id)

    activated = await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 3)
    waits = {e.data.programme: e.data.waiting_until for e in activated[1:]}
    # cover starts next month: 25 months without cover → 3 months + 1 for the further full year
    start = Month.parse(next_month())
    assert waits == {"medical_employee": start.plus(3).last_day, "pension": None}
