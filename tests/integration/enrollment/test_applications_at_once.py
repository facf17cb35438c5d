"""An application is read without a lock and written by one statement that checks the person is
still as read (``operations/applications.py``, ``_submit_at_once``): whatever changed the person in
between — another application, one committed while the statement waited for the person's lock —
the statement writes nothing, and the application is assessed again; one that keeps losing takes
the person's lock in a transaction."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.enrollment import repository
from shared.unit_of_work import AT_ONCE_ATTEMPTS
from tests.integration.harness import commit_later

from .conftest import Resident

pytestmark = pytest.mark.integration


def reads_of_the_applicant(monkeypatch, then=None, state=None) -> list:
    """``read_applicant``'s calls, as (person, record read); after the first, ``then`` is run (a
    change to the person). With ``state`` every read answers that state instead of the person's."""
    calls = []
    read = repository.read_applicant

    async def counted(conn, region, person_id):
        policies, record, read_state = await read(conn, region, person_id)
        calls.append((person_id, record))
        if len(calls) == 1 and then is not None:
            await then()
        return policies, record, state or read_state

    monkeypatch.setattr(repository, "read_applicant", counted)
    return calls


async def test_an_application_stored_after_the_read_is_seen_and_the_second_refused(enrollment, monkeypatch):
    resident = Resident()
    first: list = []

    async def another_application_of_the_person():
        first.append(await enrollment.apply(resident, programmes=["pension"]))

    reads = reads_of_the_applicant(monkeypatch, then=another_application_of_the_person)

    second = await enrollment.apply(resident, programmes=["pension", "medical_employee"])

    assert first[0].status_code == 202, first[0].text
    # the second application read the person again after its statement found them changed
    assert len(reads) == 3
    assert reads[0][1].applied_for == frozenset()
    assert reads[2][1].applied_for == {"pension"}
    assert second.status_code == 422
    assert {(d["field"], d["rule"]) for d in second.json()["detail"]} == {("body.programmes", "application_open")}
    assert len(await enrollment.emitted(resident.person_id, "ApplicationSubmitted")) == 1
    assert await _applications_of(enrollment, resident) == 1


async def test_an_application_committed_while_the_statement_waits_for_the_lock_is_seen(enrollment, monkeypatch):
    """The statement's own snapshot is taken before it waits for the person's lock; the person's
    state is taken after it (``person_state_now``), so an application committed meanwhile is seen."""
    resident = Resident()
    await enrollment.an_application(resident, programmes=["unemployment"])
    holder = await enrollment.pool.acquire()
    committed = asyncio.Event()

    async def pension_applied_for_under_the_persons_lock():
        await holder.execute("BEGIN")
        await repository.lock_person(holder, resident.person_id)
        await holder.execute(
            """INSERT INTO applications (application_id, person_id, region, programmes, declared_base, frequency,
                                         retirement_category, phone, language, status)
               SELECT $2, person_id, region, ARRAY['pension'], declared_base, frequency, retirement_category, phone,
                      language, 'awaiting_documents'
               FROM applications WHERE person_id = $1""", resident.person_id, uuid.uuid4())

        commit_later(holder, committed)

    reads = reads_of_the_applicant(monkeypatch, then=pension_applied_for_under_the_persons_lock)
    try:
        response = await enrollment.apply(resident, programmes=["pension"])
    finally:
        await committed.wait()
        await enrollment.pool.release(holder)

    assert len(reads) == 2
    assert reads[1][1].applied_for == reads[0][1].applied_for | {"pension"}
    assert response.status_code == 422, response.text
    assert {(d["field"], d["rule"]) for d in response.json()["detail"]} == {("body.programmes", "application_open")}
    assert len(await enrollment.emitted(resident.person_id, "ApplicationSubmitted")) == 1
    assert await _applications_of(enrollment, resident) == 2


async def test_an_application_whose_person_keeps_changing_takes_the_persons_lock(enrollment, monkeypatch):
    resident = Resident()
    reads = reads_of_the_applicant(monkeypatch, state="the state of some other moment")

    response = await enrollment.apply(resident)

    assert len(reads) == AT_ONCE_ATTEMPTS
    assert response.status_code == 202, response.text
    [submitted] = await enrollment.emitted(resident.person_id, "ApplicationSubmitted")
    assert str(submitted.data.application_id) == response.json()["application_id"]
    assert await _applications_of(enrollment, resident) == 1


async def test_a_caseworkers_application_that_lost_to_another_is_audited_as_refused(enrollment, monkeypatch):
    """The statement that found the person changed wrote nothing, so the staff action is recorded
    with what the request came to (a refusal), not as a change."""
    resident = Resident()

    async def the_residents_own_application():
        assert (await enrollment.apply(resident, programmes=["pension"])).status_code == 202

    reads_of_the_applicant(monkeypatch, then=the_residents_own_application)

    response = await enrollment.apply(resident, headers=enrollment.as_caseworker(), programmes=["pension"])

    assert response.status_code == 422, response.text
    async with enrollment.pool.acquire() as conn:
        outcome = await conn.fetchval("SELECT outcome FROM staff_actions WHERE request_id = $1",
                                      response.headers["x-request-id"])
    assert outcome == "answered 422"
    assert await _applications_of(enrollment, resident) == 1


async def _applications_of(enrollment, resident: Resident) -> int:
    async with enrollment.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM applications WHERE person_id = $1", resident.person_id)
