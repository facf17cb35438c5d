"""The unit of work: the one way a service reaches its database.

A unit of work is one transaction and the events it causes. It knows what caused it (an
HTTP request, a job, or a consumed event: the ``Origin``), and ``emit(payload)`` wraps a
payload in its envelope — with that origin's correlation and causation ids — and writes
it into the outbox inside the same transaction, just before it commits. Nothing is
emitted for a change that is rolled back, and no code outside this kernel builds an
envelope by hand.

``UnitsOfWork`` opens units on the service's pool (lookups of one statement on its read-only
pool, and the few short writes that units wait for on a small pool aside); operations are given
one. A change that one statement can make, its events with it, may be a ``StatementUnit``
(``UnitsOfWork.at_once``): one round trip and no transaction around it, where a unit costs
BEGIN, its statements, the outbox's and COMMIT, each a pass through the service's event loop while
the unit holds a connection of the pool. ``at_once_else_locked`` tries such a change a few times, then takes its
locks in a transaction. The inbox consumer opens the unit of each consumed event
itself (``UnitOfWork.inside``), in the transaction that also records the event in the inbox, and
hands it to the handler.

Whoever owns the transaction counts the business figures of the events once it has committed
(``shared/business_metrics.py``): ``UnitsOfWork.begin`` here, the inbox consumer for handlers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import asyncpg

from shared import tracing
from shared.audit import record_in, staff_write_pending
from shared.business_metrics import count_committed
from shared.events import Envelope, EventPayload, make_envelope
from shared.outbox import DeferredOutbox, Outbox, events_ctes


@dataclass(frozen=True)
class Origin:
    """What caused a unit of work, carried into every event it emits.

    ``correlation_id`` names the chain of events a first cause started (None: each event
    emitted starts its own chain); ``causation_id`` is the event being handled, if any;
    ``region`` is the region an emitted event belongs to when the caller names none;
    ``occurred_at`` is when the cause happened (a consumed event's time).
    """

    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    region: str | None = None
    occurred_at: datetime | None = None

    @classmethod
    def of_event(cls, envelope: Envelope) -> Origin:
        """The origin of handling ``envelope``: its chain, caused by it, in its region."""
        return cls(correlation_id=envelope.correlationid, causation_id=envelope.id, region=envelope.region,
                   occurred_at=envelope.time)


class UnitOfWork:
    """One open transaction (``conn``) and the events emitted in it, written at commit."""

    def __init__(self, conn: asyncpg.Connection, outbox: Outbox | DeferredOutbox, origin: Origin | None = None
                 ) -> None:
        self.conn = conn
        self.origin = origin or Origin()
        self._outbox = outbox
        self._pending: list[Envelope] = []
        self._written: list[Envelope] = []
        self._open = True

    def emit(
        self, payload: EventPayload, *, subject: str | UUID, region: str | None = None,
        correlation_id: UUID | None = None, causation_id: UUID | None = None, time: datetime | None = None,
    ) -> Envelope:
        """Wrap ``payload`` in its envelope, to be written into the outbox with this transaction.

        Correlation and causation come from the origin; a caller names its own only when the
        event follows from a stored fact rather than from what opened the unit (a reminder
        caused by the bill's ``PremiumDue``, ``ArrearsSettled`` caused by the payment).
        """
        if not self._open:
            raise RuntimeError("this unit of work has ended; emit inside its block")
        region = region or self.origin.region
        if region is None:
            raise ValueError(f"{payload.event_type()} needs a region: name one or open the unit with one")
        envelope = make_envelope(
            payload, subject=subject, region=region, time=time,
            correlationid=correlation_id or self.origin.correlation_id,
            causationid=causation_id or self.origin.causation_id,
        )
        self._pending.append(envelope)
        return envelope

    @property
    def emitted(self) -> list[Envelope]:
        """The events emitted so far and not yet written."""
        return list(self._pending)

    @property
    def written(self) -> list[Envelope]:
        """The events written into the outbox so far: they commit or roll back with the transaction."""
        return list(self._written)

    async def flush(self) -> None:
        """Write the emitted events into the outbox now (still inside the transaction)."""
        pending, self._pending = self._pending, []
        await self._outbox.add_events(self.conn, pending)
        self._written += pending

    def close(self) -> None:
        """End the unit: from now on ``emit`` is refused (its events would never be written)."""
        self._open = False

    @classmethod
    @asynccontextmanager
    async def inside(cls, conn: asyncpg.Connection, outbox: Outbox | DeferredOutbox, origin: Origin | None = None
                     ) -> AsyncIterator[UnitOfWork]:
        """A unit in a transaction the caller already opened on ``conn`` (the inbox consumer's);
        its events are written when the block ends without an error."""
        if not conn.is_in_transaction():
            raise RuntimeError("a unit of work inside a transaction needs one to be open")
        unit = cls(conn, outbox, origin)
        try:
            yield unit
            await unit.flush()
            await record_in(conn)  # a staff write being served is audited with its change
        finally:
            unit.close()


class StatementUnit(UnitOfWork):
    """A unit whose change and events are written by one statement (``write``): the operation's
    CTEs, then the outbox's (``events_ctes``) writing what was emitted if the operation's ``gate``
    CTE has a row, so that events are written only with the change they announce."""

    _outbox: Outbox  # the service's own (``UnitsOfWork.at_once``), never a consumer batch's
    wrote = False  # whether ``write``'s gate had a row: the statement made its change

    async def flush(self) -> None:
        raise RuntimeError("a statement unit's events are written by its statement: call write()")

    async def write(self, ctes: str, select: str, args: Sequence, *, gate: str) -> asyncpg.Record:
        """Run ``WITH <ctes>, <the outbox's CTEs> <select>`` with ``args`` as ``$1`` … ``$n``; the
        row ``select`` returns. ``gate`` names the CTE without whose row nothing is written to the
        outbox; once written, the events emitted so far count as ``written``. ``wrote`` tells whether
        the gate had a row."""
        pending, self._pending = self._pending, []
        with self._outbox.tracer.span("outbox write") as span:
            arrays = self._outbox.arrays(pending, [tracing.traceparent_of(span)] * len(pending))
            row = await self.conn.fetchrow(
                f"WITH {ctes},\n{events_ctes(len(args) + 1, gate)}\n"
                f"SELECT EXISTS (SELECT FROM {gate}) AS unit_wrote, "
                f"(SELECT count(*) FROM outbox_rows) AS events_written, main.* FROM ({select}) AS main",
                *args, *arrays)
        self.wrote = self.wrote or row["unit_wrote"]
        if row["events_written"]:
            self._written += pending
        return row


AT_ONCE_ATTEMPTS = 3  # then the change takes its locks in a transaction: it cannot keep losing to other writers


class ChangedMeanwhile:
    """What a change tried at once answers when its statement found what it was worked out from
    changed since it was read: nothing was written; read again."""


CHANGED_MEANWHILE = ChangedMeanwhile()
_Outcome = TypeVar("_Outcome")


async def at_once_else_locked(at_once: Callable[[], Awaitable[_Outcome | ChangedMeanwhile]],
                              locked: Callable[[], Awaitable[_Outcome]]) -> _Outcome:
    """``at_once`` (read without locks, then one statement that writes only if nothing read has
    changed: a ``StatementUnit``) until it answers something else than ``CHANGED_MEANWHILE``, at most
    ``AT_ONCE_ATTEMPTS`` times; then ``locked``, the same change in a transaction that holds the locks."""
    for _ in range(AT_ONCE_ATTEMPTS):
        outcome = await at_once()
        if not isinstance(outcome, ChangedMeanwhile):
            return outcome
    return await locked()


class UnitsOfWork:
    """Opens units of work on the service's pool: what operations are given."""

    side_by_side = True  # units may run at once on several connections (not in a dry run)
    aside_pool: asyncpg.Pool | None = None

    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, readers: asyncpg.Pool | None = None,
                 aside: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        self.outbox = outbox
        self.readers = readers  # sessions that refuse writes (``shared.db.create_pool(read_only=True)``)
        self.aside_pool = aside

    @asynccontextmanager
    async def begin(self, origin: Origin | None = None) -> AsyncIterator[UnitOfWork]:
        """A new transaction; commits with its events when the block ends, rolls back on an error."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                async with UnitOfWork.inside(conn, self.outbox, origin) as unit:
                    yield unit
            count_committed(unit.written)

    @asynccontextmanager
    async def at_once(self, origin: Origin | None = None) -> AsyncIterator[StatementUnit]:
        """A unit written by one statement (``StatementUnit.write``), its own transaction; a staff
        write being served is recorded with it, in a transaction around both, if the statement wrote
        (one that found its reading out of date wrote nothing: the request goes on, and is recorded
        with the unit that changes something, or as answered)."""
        async with self.pool.acquire() as conn:
            unit = StatementUnit(conn, self.outbox, origin)
            try:
                if staff_write_pending():
                    async with conn.transaction():
                        yield unit
                        if unit.wrote:
                            await record_in(conn)
                else:
                    yield unit
            finally:
                unit.close()
        count_committed(unit.written)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        """A read-only transaction: one consistent view for a query; emitting is refused."""
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            yield self._reading(conn)

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[UnitOfWork]:
        """A unit for a lookup of one statement: a read-only session and no transaction around it
        (one statement sees one consistent view on its own), so it costs one round trip instead of
        three; emitting is refused. Without ``readers`` it is ``read()``."""
        if self.readers is None:
            async with self.read() as unit:
                yield unit
            return
        async with self.readers.acquire() as conn:
            yield self._reading(conn)

    @asynccontextmanager
    async def aside(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection apart from the units' pool, for one statement (its own transaction) that
        units of work wait for, such as taking the next block of a counter.

        On the units' pool it would queue behind the very units that wait for it: under load every
        connection can be held by one of them. Without a pool aside, the units' pool.
        """
        async with (self.aside_pool or self.pool).acquire() as conn:
            yield conn

    def _reading(self, conn: asyncpg.Connection) -> UnitOfWork:
        """A unit on ``conn`` that only reads: emitting is refused."""
        unit = UnitOfWork(conn, self.outbox)
        unit.close()
        return unit

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[None]:
        """One run of ``job`` at a time in this schema, across replicas: waits for a run going on.

        A session lock on a connection of its own, held for the whole block, so the job may
        open as many units of work as it likes inside it.
        """
        async with self.pool.acquire() as conn:
            await _on_session(conn, "SELECT pg_advisory_lock(hashtext(current_schema()), hashtext($1))", job)
            try:
                yield
            finally:
                await _on_session(conn, "SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext($1))", job)


async def _on_session(conn: asyncpg.Connection, statement: str, job: str) -> None:
    """Take or release a session lock; when that fails or is cancelled half way the connection is
    closed, so that no lock of uncertain state goes back to the pool (which keeps sessions as they
    are: ``shared.db``)."""
    try:
        await conn.execute(statement, job)
    except BaseException:
        conn.terminate()
        raise
