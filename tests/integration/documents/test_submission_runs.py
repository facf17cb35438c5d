"""Submissions come to the service in runs (the consumer's batches): a run applied at once opens
exactly the dossiers, with exactly the checklists, that its events open one at a time, at a cost
that does not grow with the run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.documents.handlers import HANDLERS
from shared.events import ApplicationSubmitted, Envelope
from tests.integration import harness

from .conftest import BEIJING

pytestmark = pytest.mark.integration

NANJING = "320100"  # drops household_register for pension, and every default of unemployment
A_MONDAY_MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def rolled_back(documents) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose work is undone at the end, with Nanjing's own requirement rows."""
    async with harness.rolled_back(documents.pool) as conn:
        await conn.execute(
            """INSERT INTO material_requirements (region, programme, material, required)
               VALUES ($1, 'pension', 'household_register', false), ($1, 'unemployment', 'id_card', false),
                      ($1, 'unemployment', 'household_register', false)""", NANJING)
        yield conn


async def apply(documents, conn: asyncpg.Connection, run: Sequence[Envelope]) -> list[str]:
    """Apply ``run`` as the consumer does, in a transaction of its own; returns the statements it ran."""
    return await harness.apply_run(conn, documents.svc.runtime.units, HANDLERS[ApplicationSubmitted], run)


def submissions(documents) -> dict[str, Envelope]:
    """A mixed run: two regions, an application re-emitted under a new event id, one needing nothing."""
    def at(minutes: int) -> datetime:
        return A_MONDAY_MORNING + timedelta(minutes=minutes)

    beijing = documents.submission(programmes=("pension", "medical_employee"), at=at(0))
    return {
        "beijing": beijing,
        "nanjing pension": documents.submission(programmes=("pension",), region=NANJING, at=at(1)),
        "beijing again": beijing.model_copy(update={"id": uuid.uuid4(), "time": at(2)}),
        "nanjing unemployment": documents.submission(programmes=("unemployment",), region=NANJING, at=at(3)),
        "beijing unemployment": documents.submission(programmes=("unemployment",), region=BEIJING, at=at(4)),
    }


async def opened(conn: asyncpg.Connection, run: Sequence[Envelope]) -> tuple[list[dict], list[tuple]]:
    """The dossiers of ``run``'s applications and their checklists."""
    applications = list({envelope.data.application_id for envelope in run})
    dossiers = await conn.fetch(
        """SELECT application_id, person_id, region, programmes, status, opened_at FROM dossiers
           WHERE application_id = ANY($1) ORDER BY application_id""", applications)
    checklists = await conn.fetch(
        """SELECT application_id, material FROM dossier_materials
           WHERE application_id = ANY($1) ORDER BY application_id, material""", applications)
    return [dict(row) for row in dossiers], [tuple(row) for row in checklists]


async def test_a_run_opens_exactly_what_its_submissions_open_one_at_a_time(documents):
    run = list(submissions(documents).values())

    async with rolled_back(documents) as conn:
        for submission in run:
            await apply(documents, conn, [submission])
        one_at_a_time = await opened(conn, run)
    async with rolled_back(documents) as conn:
        await apply(documents, conn, run)
        together = await opened(conn, run)

    assert together == one_at_a_time
    assert len(together[0]) == 4


async def test_each_dossier_of_a_run_has_its_regions_checklist_and_its_events_time(documents):
    run = submissions(documents)

    async with rolled_back(documents) as conn:
        await apply(documents, conn, list(run.values()))
        dossiers, checklists = await opened(conn, list(run.values()))

    def checklist(name: str) -> set[str]:
        return {material for application_id, material in checklists
                if application_id == run[name].data.application_id}

    assert checklist("beijing") == {"id_card", "household_register", "social_security_card", "work_unit_certificate"}
    assert checklist("nanjing pension") == {"id_card", "social_security_card", "work_unit_certificate"}
    assert checklist("nanjing unemployment") == set()
    assert checklist("beijing unemployment") == {"id_card", "household_register"}
    dossier = {row["application_id"]: row for row in dossiers}
    beijing, nanjing = dossier[run["beijing"].data.application_id], dossier[run["nanjing pension"].data.application_id]
    assert beijing["opened_at"] == run["beijing"].time  # the first submission's, not the re-emitted one's
    assert (nanjing["region"], nanjing["programmes"], nanjing["status"], nanjing["opened_at"]) == (
        NANJING, ["pension"], "open", run["nanjing pension"].time)


async def test_a_run_delivered_again_opens_nothing_more(documents):
    run = list(submissions(documents).values())

    async with rolled_back(documents) as conn:
        await apply(documents, conn, run)
        once = await opened(conn, run)
        again_later = [envelope.model_copy(update={"id": uuid.uuid4(), "time": envelope.time + timedelta(days=1)})
                       for envelope in run]
        await apply(documents, conn, again_later)
        again = await opened(conn, run)

    assert again == once


async def test_a_run_costs_the_same_statements_whatever_its_length(documents):
    async with rolled_back(documents) as conn:
        of_one = await apply(documents, conn, [documents.submission()])
        of_twenty = await apply(documents, conn, [documents.submission() for _ in range(20)])

    assert len(of_twenty) == len(of_one) <= 3
