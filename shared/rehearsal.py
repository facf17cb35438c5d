"""Dry runs: an operation rehearsed against the real database, leaving nothing behind.

``rehearse(units)`` gives units of work that all run on one connection inside one transaction
(each ``begin()`` a savepoint of it), rolled back when the rehearsal ends. The operation runs
as it always does — its later steps see what its earlier ones wrote, so what it reports is what
it would do — and then every row and every event is gone: nothing reaches the outbox for good.
A job that normally works on several connections side by side asks ``units.side_by_side`` and
works one unit at a time in a rehearsal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.outbox import Outbox
from shared.unit_of_work import Origin, StatementUnit, UnitOfWork, UnitsOfWork


class _RolledBack(Exception):
    """Raised at the end of a rehearsal to roll its transaction back."""


class Rehearsal(UnitsOfWork):
    """Units of work in one transaction that will be rolled back (see the module's docstring)."""

    side_by_side = False

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox) -> None:
        self.conn = conn
        self.outbox = outbox
        self._turn = asyncio.Lock()  # one connection: one unit at a time

    @asynccontextmanager
    async def begin(self, origin: Origin | None = None) -> AsyncIterator[UnitOfWork]:
        """A savepoint: its changes stay visible to the rest of the rehearsal, until the rollback."""
        async with self._turn, self.conn.transaction():
            # not UnitOfWork.inside: a staff action rehearsed is audited once answered, not in this
            # transaction, which is rolled back
            unit = UnitOfWork(self.conn, self.outbox, origin)
            try:
                yield unit
                await unit.flush()
            finally:
                unit.close()

    @asynccontextmanager
    async def at_once(self, origin: Origin | None = None) -> AsyncIterator[StatementUnit]:
        """A savepoint, as ``begin``: the statement's change stays until the rollback."""
        async with self._turn, self.conn.transaction():
            unit = StatementUnit(self.conn, self.outbox, origin)
            try:
                yield unit
            finally:
                unit.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self._turn, self.conn.transaction():
            yield self._reading(self.conn)

    lookup = read  # on the rehearsal's connection: it sees what the rehearsal wrote

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[None]:
        """The job's lock for the rest of the rehearsal (a real run waits; so does this one)."""
        async with self._turn:
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext($1))", job)
        yield


@asynccontextmanager
async def rehearse(units: UnitsOfWork) -> AsyncIterator[Rehearsal]:
    """Units of work whose every change is rolled back when the block ends."""
    async with units.pool.acquire() as conn:
        try:
            async with conn.transaction():
                rehearsal = Rehearsal(conn, units.outbox)
                yield rehearsal
                raise _RolledBack
        except _RolledBack:
            pass
