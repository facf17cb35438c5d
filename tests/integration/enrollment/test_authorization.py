"""Residents reach only their own records; caseworkers and admins those of their region."""

from __future__ import annotations

import uuid

import pytest

from .conftest import BEIJING, SHANGHAI, Resident

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def someone(enrollment):
    """A Beijing resident with an approved application and active enrolments."""
    resident = Resident()
    enrolments = await enrollment.active_enrolments(resident)
    return resident, enrolments[0]["application_id"], enrolments[0]["enrollment_id"]


async def test_a_resident_applies_only_for_themself(enrollment):
    resident, other = Resident(), Resident()

    response = await enrollment.apply(other, headers=enrollment.as_resident(resident))

    assert response.status_code == 403
    assert await enrollment.emitted(other.person_id) == []


async def test_staff_apply_only_in_their_region_and_other_roles_not_at_all(enrollment):
    resident = Resident()
    assert (await enrollment.apply(resident, headers=enrollment.as_caseworker(SHANGHAI))).status_code == 403
    assert (await enrollment.apply(resident, headers=enrollment.svc.auth("ops"))).status_code == 403
    assert (await enrollment.apply(resident, headers=enrollment.svc.auth("channel"))).status_code == 403
    assert (await enrollment.client.post("/v1/applications", json={})).status_code == 401
    assert (await enrollment.apply(resident, headers=enrollment.svc.auth("admin", region=BEIJING))).status_code == 202


@pytest.mark.parametrize("read", ["application", "enrollments", "applications"])
async def test_who_may_read_a_persons_records(enrollment, someone, read):
    resident, application_id, _ = someone
    url = {
        "application": f"/v1/applications/{application_id}",
        "enrollments": f"/v1/persons/{resident.person_id}/enrollments",
        "applications": f"/v1/persons/{resident.person_id}/applications",
    }[read]

    async def status(headers):
        return (await enrollment.client.get(url, headers=headers)).status_code

    assert await status(enrollment.as_resident(resident)) == 200
    assert await status(enrollment.as_caseworker(BEIJING)) == 200
    assert await status(enrollment.svc.auth("admin", region=BEIJING)) == 200
    assert await status(enrollment.as_resident(Resident())) == 403
    assert await status(enrollment.as_caseworker(SHANGHAI)) == 403
    assert await status(enrollment.svc.auth("channel")) == 403


async def test_changes_are_refused_to_others(enrollment, someone):
    resident, application_id, enrollment_id = someone
    stranger = enrollment.as_resident(Resident())

    responses = [
        await enrollment.client.patch(f"/v1/enrollments/{enrollment_id}", json={"base": "9000"}, headers=stranger),
        await enrollment.client.post(f"/v1/enrollments/{enrollment_id}/terminate", headers=stranger),
        await enrollment.client.post(f"/v1/applications/{application_id}/withdraw", headers=stranger),
        await enrollment.client.post(f"/v1/enrollments/{enrollment_id}/terminate",
                                     headers=enrollment.as_caseworker(SHANGHAI)),
        await enrollment.client.post(f"/v1/applications/{application_id}/reject", json={"reasons": ["x"]},
                                     headers=enrollment.as_resident(resident)),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert [e["status"] for e in await enrollment.enrolments(resident)] == ["active", "active"]


async def test_unknown_ids_are_not_found(enrollment):
    unknown = uuid.uuid4()
    caseworker = enrollment.as_caseworker()
    assert (await enrollment.client.get(f"/v1/applications/{unknown}", headers=caseworker)).status_code == 404
    assert (await enrollment.client.get(f"/v1/persons/{unknown}/enrollments", headers=caseworker)).status_code == 404
    assert (await enrollment.client.patch(f"/v1/enrollments/{unknown}", json={"base": "9000"},
                                          headers=caseworker)).status_code == 404
    assert (await enrollment.client.post(f"/v1/applications/{unknown}/withdraw",
                                         headers=caseworker)).status_code == 404


async def test_an_application_staff_file_for_a_resident_is_audited_with_personal_data_masked(enrollment):
    resident = Resident()
    caseworker = enrollment.svc.auth("caseworker", sub="caseworker-he", region=BEIJING)

    filed = await enrollment.apply(resident, headers=caseworker)
    trail = await enrollment.client.get("/v1/audit/staff-actions", headers=enrollment.svc.auth("admin", region=BEIJING))

    assert filed.status_code == 202
    [action] = [a for a in trail.json()["actions"] if a["request_id"] == filed.headers["x-request-id"]]
    body = action["request"]["body"]
    assert (action["actor_sub"], action["outcome"]) == ("caseworker-he", "changed")
    assert resident.id_number not in str(action) and "王芳" not in str(action) and "13800138000" not in str(action)
    assert body["id_number"].endswith(resident.id_number[-2:]) and "*" in body["id_number"]
