"""A billing run that dies half way (a chunk's transaction never commits) is resumed by the next
run: the persons already billed are not billed again, the others are billed once."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import pytest

from services.billing.operations.billing_run import run_billing
from services.billing.settings import BillingSettings
from shared.unit_of_work import UnitsOfWork
from tests.integration.billing.story import an_active_enrolment

pytestmark = pytest.mark.integration

PERSONS = 12
AS_OF = date(2025, 6, 25)


class Crash(Exception):
    """The process died: the transaction open now is never committed."""


class DyingUnits(UnitsOfWork):
    """The service's units of work, dying inside the ``die_at``-th one (after its statements ran,
    before its commit) as a killed process would."""

    def __init__(self, units: UnitsOfWork, die_at: int) -> None:
        super().__init__(units.pool, units.outbox)
        self.opened = 0
        self.die_at = die_at

    @asynccontextmanager
    async def begin(self, origin=None):
        self.opened += 1
        dies = self.opened == self.die_at
        async with super().begin(origin) as uow:
            yield uow
            if dies:
                raise Crash("killed before this chunk committed")


@dataclass(frozen=True)
class CrashingService:
    units: UnitsOfWork
    settings: BillingSettings


async def test_a_run_killed_half_way_is_resumed_without_a_second_bill(billing):
    persons = [await an_active_enrolment(billing, programmes=("pension", "medical_employee")) for _ in range(PERSONS)]
    ids = [p.person_id for p in persons]
    settings = billing.runtime.settings.model_copy(update={"billing_batch_size": 3, "billing_workers": 1})
    # unit 1 promotes pending terms, units 2 and 3 bill a chunk each and commit, unit 4 dies
    dying = CrashingService(DyingUnits(billing.runtime.units, die_at=4), settings)

    with pytest.raises(ExceptionGroup) as crashed:
        await run_billing(dying, AS_OF)
    assert crashed.group_contains(Crash)
    billed_before = await bills_per_person(billing, ids)
    premium_due_before = await premium_due_per_bill(billing)

    report = await run_billing(CrashingService(billing.runtime.units, settings), AS_OF)

    billed_after = await bills_per_person(billing, ids)
    assert set(billed_after) == set(ids) and set(billed_after.values()) == {1}
    # the run stopped with some of our persons billed and some not: the second run carried on
    assert len(billed_before) < PERSONS
    assert all(billed_after[person] == n for person, n in billed_before.items())
    assert report.bills >= PERSONS - len(billed_before)
    premium_due = await premium_due_per_bill(billing)
    assert set(premium_due.values()) == {1}  # one PremiumDue per bill, nothing written twice
    assert set(premium_due_before) <= set(premium_due)
    async with billing.pool.acquire() as conn:
        twice = await conn.fetch("SELECT person_id, first_month FROM bills GROUP BY 1, 2 HAVING count(*) > 1")
    assert twice == []

    again = await run_billing(CrashingService(billing.runtime.units, settings), AS_OF)
    assert again.bills == 0


async def bills_per_person(billing, persons) -> dict:
    async with billing.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT person_id, count(*) AS n FROM bills WHERE person_id = ANY($1) GROUP BY 1", persons)
    return {row["person_id"]: row["n"] for row in rows}


async def premium_due_per_bill(billing) -> dict:
    async with billing.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT subject, count(*) AS n FROM (SELECT convert_from(envelope, 'UTF8')::jsonb ->> 'subject' AS subject"
            " FROM outbox WHERE event_type = 'PremiumDue') AS e GROUP BY 1")
    return {row["subject"]: row["n"] for row in rows}
