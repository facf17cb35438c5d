"""Applications through HTTP and the events that decide them, on the real broker and database."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.events import decode_envelope, topic_for
from shared.events.topics import TYPE_HEADER, dlq_topic
from shared.periods import Month, business_date, now_utc
from tests.integration.harness import eventually, publish_raw, read_topic

from .conftest import GUANGDONG, SHANGHAI, Resident

pytestmark = pytest.mark.integration


def next_month() -> str:
    return str(Month.of(business_date(now_utc())).next())


async def test_an_application_is_accepted_and_announced_once_keyed_by_the_person(enrollment):
    resident = Resident()

    response = await enrollment.apply(resident)

    assert response.status_code == 202
    body = response.json()
    assert body["person_id"] == str(resident.person_id)
    assert body["status"] == "awaiting_documents"
    submitted = await enrollment.emitted(resident.person_id, "ApplicationSubmitted")
    assert [e.data.application_id for e in submitted] == [uuid.UUID(body["application_id"])]
    assert submitted[0].data.retirement_category == "male_60"
    assert submitted[0].data.contact.phone == "13800138000"

    records = await enrollment.published(submitted[0])
    records = [r for r in records if decode_envelope(r.value).type == "ApplicationSubmitted"
               and decode_envelope(r.value).data.application_id == submitted[0].data.application_id]
    assert len(records) == 1
    assert records[0].key == str(resident.person_id).encode()


async def test_verified_documents_activate_one_enrolment_per_programme(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident, programmes=["pension", "medical_employee"],
                                                     declared_base="8000", frequency="quarterly")

    verified = await enrollment.documents_verified(application_id, resident.person_id)

    activated = await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 2)
    assert sorted((e.data.programme, e.data.base, e.data.frequency, e.data.start_month) for e in activated) == [
        ("medical_employee", 8000, "quarterly", next_month()),
        ("pension", 8000, "quarterly", next_month()),
    ]
    assert all(e.causationid == verified.id and e.subject == str(e.data.enrollment_id) for e in activated)
    seen = await enrollment.application(application_id, enrollment.as_resident(resident))
    assert seen["status"] == "approved"
    assert [(s["from_status"], s["to_status"]) for s in seen["history"]] == [
        (None, "submitted"), ("submitted", "awaiting_documents"), ("awaiting_documents", "approved")]
    assert seen["history"][-1]["cause"]["event_id"] == str(verified.id)
    assert seen["history"][0]["cause"]["request"].startswith("POST /v1/applications by resident")
    assert {e["programme"]: e["status"] for e in seen["enrollments"]} == {
        "pension": "active", "medical_employee": "active"}


async def test_of_applications_sent_at_once_by_one_person_for_one_programme_only_one_is_accepted(enrollment):
    resident = Resident()

    responses = await asyncio.gather(*[enrollment.apply(resident) for _ in range(20)])

    assert sorted(r.status_code for r in responses) == [202] + [422] * 19
    assert len(await enrollment.emitted(resident.person_id, "ApplicationSubmitted")) == 1


async def test_the_same_verification_twice_activates_nothing_twice(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)
    verified = await enrollment.documents_verified(application_id, resident.person_id)
    await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 2)

    await enrollment.publish_envelope(verified)                                  # redelivered
    again = await enrollment.documents_verified(application_id, resident.person_id)  # a second verification

    await enrollment.handled(again)
    assert len(await enrollment.emitted(resident.person_id, "EnrollmentActivated")) == 2
    assert len(await enrollment.enrolments(resident)) == 2


async def test_rejected_documents_keep_the_application_open_with_the_reasons_visible(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)

    rejected = await enrollment.documents_rejected(application_id, resident.person_id, reason="expired",
                                                   note="the ID card expired in 2020")

    async def reasons_shown():
        seen = await enrollment.application(application_id, enrollment.as_resident(resident))
        return seen if seen["rejected_materials"] else None
    seen = await eventually(reasons_shown, timeout_s=15)
    assert seen["status"] == "awaiting_documents"
    assert seen["rejected_materials"][0]["material"] == "id_card"
    assert seen["rejected_materials"][0]["reason"] == "expired"
    assert seen["rejected_materials"][0]["note"] == "the ID card expired in 2020"
    assert seen["history"][-1]["cause"]["event_id"] == str(rejected.id)

    await enrollment.documents_verified(application_id, resident.person_id)  # the resident uploaded again
    await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 2)


async def test_a_second_application_for_the_same_programme_is_refused(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident, programmes=["pension"])

    open_application = await enrollment.apply(resident, programmes=["pension", "unemployment"])
    assert open_application.status_code == 422
    assert {(d["field"], d["rule"]) for d in open_application.json()["detail"]} == {
        ("body.programmes", "application_open")}

    await enrollment.documents_verified(application_id, resident.person_id)
    await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 1)
    enrolled = await enrollment.apply(resident, programmes=["pension"])
    assert enrolled.status_code == 422
    assert {(d["field"], d["rule"]) for d in enrolled.json()["detail"]} == {("body.programmes", "already_enrolled")}

    other_programme = await enrollment.apply(resident, programmes=["medical_employee"])
    assert other_programme.status_code == 202
    assert len(await enrollment.emitted(resident.person_id, "ApplicationSubmitted")) == 2


async def test_withdrawing_before_approval(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)

    response = await enrollment.client.post(f"/v1/applications/{application_id}/withdraw",
                                            headers=enrollment.as_resident(resident))

    assert response.status_code == 200
    withdrawn = await enrollment.emitted(resident.person_id, "ApplicationWithdrawn")
    assert [e.data.application_id for e in withdrawn] == [application_id]
    seen = await enrollment.application(application_id, enrollment.as_resident(resident))
    assert seen["status"] == "withdrawn"
    again = await enrollment.client.post(f"/v1/applications/{application_id}/withdraw",
                                         headers=enrollment.as_resident(resident))
    assert again.status_code == 409
    late = await enrollment.documents_verified(application_id, resident.person_id)
    await enrollment.handled(late)
    assert await enrollment.emitted(resident.person_id, "EnrollmentActivated") == []
    assert (await enrollment.application(application_id, enrollment.as_resident(resident)))["status"] == "withdrawn"
    assert (await enrollment.apply(resident)).status_code == 202  # free to apply again


async def test_withdrawing_an_approved_application_is_refused(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)
    await enrollment.documents_verified(application_id, resident.person_id)
    await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 2)

    response = await enrollment.client.post(f"/v1/applications/{application_id}/withdraw",
                                            headers=enrollment.as_resident(resident))

    assert response.status_code == 409
    assert await enrollment.emitted(resident.person_id, "ApplicationWithdrawn") == []


async def test_a_caseworker_rejects_an_application_with_reasons(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)

    response = await enrollment.client.post(f"/v1/applications/{application_id}/reject",
                                            json={"reasons": ["not a resident of Beijing"]},
                                            headers=enrollment.as_caseworker())

    assert response.status_code == 200
    rejected = await enrollment.emitted(resident.person_id, "ApplicationRejected")
    assert [e.data.reasons for e in rejected] == [("not a resident of Beijing",)]
    seen = await enrollment.application(application_id, enrollment.as_resident(resident))
    assert (seen["status"], seen["rejection_reasons"]) == ("rejected", ["not a resident of Beijing"])


async def test_a_region_with_no_known_policy_offers_nothing_until_one_is_published(enrollment):
    resident = Resident()

    refused = await enrollment.apply(resident, region=GUANGDONG, headers=enrollment.as_caseworker(GUANGDONG))
    assert refused.status_code == 422
    assert {(d["field"], d["rule"]) for d in refused.json()["detail"]} == {("body.programmes", "not_offered")}

    await enrollment.publish_policy(GUANGDONG, "pension", "5000", "25000")
    await enrollment.publish_policy(GUANGDONG, "medical_employee", "5000", "25000")
    await enrollment.policies_known(7)
    accepted = await enrollment.apply(resident, region=GUANGDONG, declared_base="5000",
                                      headers=enrollment.as_caseworker(GUANGDONG))
    assert accepted.status_code == 202


async def test_a_malformed_event_is_dead_lettered_and_the_next_one_still_applied(enrollment):
    resident = Resident()
    application_id = await enrollment.an_application(resident)
    topic = topic_for("documents", enrollment.prefix)

    await publish_raw(enrollment.bootstrap_servers, topic, b'{"type": "DocumentsVerified", "data": {}}',
                      str(resident.person_id).encode(), headers=[(TYPE_HEADER, b"DocumentsVerified")])
    await enrollment.documents_verified(application_id, resident.person_id)

    await enrollment.emitted_eventually(resident.person_id, "EnrollmentActivated", 2)
    dead = await read_topic(enrollment.bootstrap_servers, dlq_topic(topic), expected=1, timeout_s=15)
    assert any(record.key == str(resident.person_id).encode() for record in dead)


async def test_nothing_is_stored_for_a_refused_application(enrollment):
    resident = Resident()

    response = await enrollment.apply(resident, declared_base="7161.99")

    assert response.status_code == 422
    async with enrollment.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM persons WHERE person_id = $1", resident.person_id) == 0
    assert await enrollment.emitted(resident.person_id) == []


async def test_a_caseworker_applies_on_behalf_of_a_resident_of_shanghai(enrollment):
    resident = Resident(sex="female")

    response = await enrollment.apply(resident, headers=enrollment.as_caseworker(SHANGHAI), region=SHANGHAI,
                                      declared_base="7460", medical_base="9000", retirement_category="female_50")

    assert response.status_code == 202
    [submitted] = await enrollment.emitted(resident.person_id, "ApplicationSubmitted")
    assert (submitted.region, submitted.data.medical_base, submitted.data.retirement_category) == (
        SHANGHAI, 9000, "female_50")
