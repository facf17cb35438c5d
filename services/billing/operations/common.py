"""What every operation needs: the running service's units of work and settings, chunked
walks over persons, and the errors the routes turn into HTTP answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from services.billing.repository import billing_run as repo
from services.billing.repository.billing_run import BEFORE_EVERYONE
from services.billing.settings import BillingSettings
from shared.rehearsal import rehearse
from shared.unit_of_work import UnitOfWork, UnitsOfWork

ChunkWork = Callable[[UnitOfWork, list[uuid.UUID]], Awaitable[None]]
"""What a walk does with one chunk of persons, inside that chunk's unit of work."""


class Service(Protocol):
    """The parts of the running service an operation uses (``ServiceRuntime`` has them)."""

    units: UnitsOfWork
    settings: BillingSettings


class Rejected(Exception):
    """A request that breaks a rule: answered 422 with each field and reason."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


class OutOfScope(Exception):
    """A caller reaching past what their token is for (another region's payer): answered 403."""


class Conflict(Exception):
    """A request that contradicts what is already recorded: answered 409."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


async def in_chunks(service: Service, job: str, query: str, args: tuple, work: ChunkWork) -> None:
    """Call ``work(uow, persons)`` for consecutive chunks of ``billing_batch_size`` persons that
    ``query`` selects (in id order), one unit of work per chunk.

    One run of ``job`` at a time (``units.exclusive``, held for the whole walk: the schedule and
    an operator's call wait for each other). Chunks are disjoint sets of persons, so
    ``billing_workers`` units work on them side by side — while one waits for the database
    another builds its events. Each chunk commits on its own: a run stopped half way leaves
    whole persons done, and the next run carries on where it stopped.
    """
    settings = service.settings
    async with service.units.exclusive(job):
        await _walk(service.units, query, args, work, settings.billing_batch_size, max(1, settings.billing_workers))


@dataclass(frozen=True)
class _Rehearsed:
    units: UnitsOfWork
    settings: BillingSettings


@asynccontextmanager
async def rehearsed_if(service: Service, dry_run: bool) -> AsyncIterator[Service]:
    """``service`` itself, or for a dry run the same service on units whose every change is
    rolled back at the end (``shared.rehearsal``): the run reports what it would do."""
    if not dry_run:
        yield service
        return
    async with rehearse(service.units) as rehearsal:
        yield _Rehearsed(rehearsal, service.settings)


async def _walk(units: UnitsOfWork, query: str, args: tuple, work: ChunkWork, size: int, workers: int) -> None:
    if not units.side_by_side:
        await _walk_one_at_a_time(units, query, args, work, size)
        return
    chunks: asyncio.Queue = asyncio.Queue(maxsize=workers)

    async def worker() -> None:
        while (persons := await chunks.get()) is not None:
            async with units.begin() as uow:
                await repo.plan_for_this_chunk(uow.conn)
                await work(uow, persons)

    async with asyncio.TaskGroup() as group:
        for _ in range(workers):
            group.create_task(worker())
        after = BEFORE_EVERYONE
        async with units.read() as listing:
            await repo.plan_for_this_chunk(listing.conn)
            while persons := await repo.next_chunk(listing.conn, query, after, size, *args):
                await chunks.put(persons)
                after = persons[-1]
        for _ in range(workers):
            await chunks.put(None)


async def _walk_one_at_a_time(units: UnitsOfWork, query: str, args: tuple, work: ChunkWork, size: int) -> None:
    """The same walk on units that share one connection (a dry run): list a chunk, work it, next."""
    after = BEFORE_EVERYONE
    while True:
        async with units.read() as listing:
            await repo.plan_for_this_chunk(listing.conn)
            persons = await repo.next_chunk(listing.conn, query, after, size, *args)
        if not persons:
            return
        async with units.begin() as uow:
            await repo.plan_for_this_chunk(uow.conn)
            await work(uow, persons)
        after = persons[-1]
