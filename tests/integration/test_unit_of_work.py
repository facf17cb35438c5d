"""The unit of work on the real database: one transaction, its events written with it or not at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from shared import audit
from shared.db import apply_migrations, create_pool
from shared.events import ApplicationWithdrawn
from shared.outbox import Outbox
from shared.unit_of_work import Origin, UnitOfWork, UnitsOfWork

from .harness import a_withdrawal

pytestmark = pytest.mark.integration


@pytest.fixture
async def units(infrastructure, unique_name):
    await apply_migrations(infrastructure.database_url, unique_name, None)
    pool = await create_pool(infrastructure.database_url, unique_name, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE changes (id uuid PRIMARY KEY)")
    readers = await create_pool(infrastructure.database_url, unique_name, max_size=2, read_only=True)
    yield UnitsOfWork(pool, Outbox("t."), readers)
    await pool.close()
    await readers.close()


def a_payload(person_id: uuid.UUID | None = None) -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=person_id or uuid.uuid4())


async def outbox_rows(units: UnitsOfWork) -> list:
    async with units.pool.acquire() as conn:
        return await conn.fetch("SELECT event_id, topic, partition_key, envelope FROM outbox ORDER BY seq")


async def changes(units: UnitsOfWork) -> int:
    async with units.pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM changes")


async def test_the_change_and_its_events_commit_together(units):
    first, second = a_payload(), a_payload()

    async with units.begin() as uow:
        await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
        one = uow.emit(first, subject=first.application_id, region="110000")
        two = uow.emit(second, subject=second.application_id, region="310000")
        assert await outbox_rows(units) == []  # written at commit, not before

    rows = await outbox_rows(units)
    assert [row["event_id"] for row in rows] == [one.id, two.id]
    assert [row["topic"] for row in rows] == ["t.shebao.enrollment.v1"] * 2
    assert rows[0]["partition_key"] == str(first.person_id)
    stored = json.loads(bytes(rows[1]["envelope"]))
    assert (stored["type"], stored["region"], stored["subject"]) == (
        "ApplicationWithdrawn", "310000", str(second.application_id))
    assert await changes(units) == 1


async def test_an_error_in_the_block_leaves_neither_change_nor_event(units):
    with pytest.raises(RuntimeError, match="refused"):
        async with units.begin() as uow:
            await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
            uow.emit(a_payload(), subject="x", region="110000")
            raise RuntimeError("refused")

    assert await outbox_rows(units) == []
    assert await changes(units) == 0


async def test_without_an_origin_each_event_starts_its_own_chain(units):
    async with units.begin() as uow:
        event = uow.emit(a_payload(), subject="x", region="110000")

    assert event.correlationid == event.id
    assert event.causationid is None


async def test_a_consumed_events_unit_carries_its_chain_into_what_it_emits(units):
    consumed = a_withdrawal()

    async with units.pool.acquire() as conn, conn.transaction():
        async with UnitOfWork.inside(conn, units.outbox, Origin.of_event(consumed)) as uow:
            caused = uow.emit(a_payload(consumed.data.person_id), subject="x")

    assert (caused.correlationid, caused.causationid, caused.region) == (
        consumed.correlationid, consumed.id, consumed.region)
    assert uow.origin.occurred_at == consumed.time
    assert [row["event_id"] for row in await outbox_rows(units)] == [caused.id]


async def test_an_event_that_follows_a_stored_fact_names_its_own_cause(units):
    bill_event, chain = uuid.uuid4(), uuid.uuid4()

    async with units.begin(Origin(correlation_id=uuid.uuid4())) as uow:
        reminder = uow.emit(a_payload(), subject="x", region="110000", correlation_id=chain, causation_id=bill_event)

    assert (reminder.correlationid, reminder.causationid) == (chain, bill_event)


async def test_an_event_needs_a_region(units):
    with pytest.raises(ValueError, match="needs a region"):
        async with units.begin() as uow:
            uow.emit(a_payload(), subject="x")


async def test_nothing_is_emitted_once_the_unit_has_ended(units):
    async with units.begin() as uow:
        pass

    with pytest.raises(RuntimeError, match="has ended"):
        uow.emit(a_payload(), subject="x", region="110000")


async def test_a_unit_inside_needs_an_open_transaction(units):
    async with units.pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="needs one to be open"):
            async with UnitOfWork.inside(conn, units.outbox):
                pass


async def test_a_read_unit_writes_nothing(units):
    async with units.read() as uow:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
    async with units.read() as uow:
        with pytest.raises(RuntimeError, match="has ended"):
            uow.emit(a_payload(), subject="x", region="110000")

    assert await changes(units) == 0


async def test_a_lookup_writes_nothing_and_sees_what_is_committed(units):
    async with units.begin() as uow:
        await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())

    async with units.lookup() as uow:
        assert not uow.conn.is_in_transaction()  # one statement: no BEGIN and COMMIT around it
        assert await uow.conn.fetchval("SELECT count(*) FROM changes") == 1
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
        with pytest.raises(RuntimeError, match="has ended"):
            uow.emit(a_payload(), subject="x", region="110000")

    assert await changes(units) == 1


async def test_without_a_read_only_pool_a_lookup_is_a_read_unit(units):
    plain = UnitsOfWork(units.pool, units.outbox)
    async with plain.lookup() as uow:
        assert uow.conn.is_in_transaction()
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())

    assert await changes(units) == 0


async def test_one_run_of_a_job_at_a_time(units):
    order: list[str] = []
    first_inside = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with units.exclusive("billing-run"):
            order.append("first in")
            first_inside.set()
            await release_first.wait()
            order.append("first out")

    async def second() -> None:
        await first_inside.wait()
        async with units.exclusive("billing-run"):
            order.append("second in")

    async def other_job() -> None:
        await first_inside.wait()
        async with units.exclusive("overdue-scan"):
            order.append("other job in")

    tasks = [asyncio.create_task(job()) for job in (first, second, other_job)]
    await first_inside.wait()
    await asyncio.sleep(0.5)  # room for the second run to get in, were it not locked out
    release_first.set()
    await asyncio.gather(*tasks)

    assert order.index("other job in") < order.index("first out")  # another job is not held up
    assert order.index("first out") < order.index("second in")


async def _job_lock_is_free(database_url: str, schema: str, job: str) -> bool:
    """Whether a session outside the pool can take ``job``'s lock now (released again at once)."""
    conn = await asyncpg.connect(database_url)
    try:
        free = await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))", schema, job)
        if free:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", schema, job)
        return free
    finally:
        await conn.close()


async def test_a_run_cancelled_while_it_waits_leaves_no_lock_behind(units, infrastructure, unique_name):
    first_inside, release_first = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with units.exclusive("billing-run"):
            first_inside.set()
            await release_first.wait()

    async def waiting() -> None:
        async with units.exclusive("billing-run"):
            raise AssertionError("the cancelled run got in")

    holder = asyncio.create_task(first())
    await first_inside.wait()
    waiter = asyncio.create_task(waiting())
    await asyncio.sleep(0.3)  # the waiter is blocked in pg_advisory_lock
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release_first.set()
    await holder

    assert await _job_lock_is_free(infrastructure.database_url, unique_name, "billing-run")
    async with units.begin() as uow:  # the pool goes on serving
        await uow.conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
    assert await changes(units) == 1


async def test_a_finished_run_releases_its_lock_on_the_pooled_connection(units, infrastructure, unique_name):
    async with units.exclusive("overdue-scan"):
        assert not await _job_lock_is_free(infrastructure.database_url, unique_name, "overdue-scan")
    assert await _job_lock_is_free(infrastructure.database_url, unique_name, "overdue-scan")


async def test_the_pool_gives_a_connection_back_without_a_reset_round_trip(units):
    """A released connection keeps its session as it was (asyncpg's default reset would have cleared
    this setting with one more round trip); only an open transaction is rolled back."""
    async with units.pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("SET application_name = 'kept-as-left'")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO changes VALUES ($1)", uuid.uuid4())
    async with units.pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == backend
        assert await conn.fetchval("SELECT current_setting('application_name')") == "kept-as-left"
        assert not conn.is_in_transaction()
    assert await changes(units) == 0


# A unit written by one statement: the change's CTE, and whether its rows came out, gates the events.
_ADD_CHANGE = "change AS (INSERT INTO changes SELECT $1 WHERE $2 ON CONFLICT DO NOTHING RETURNING id)"
_CHANGED = "SELECT EXISTS (SELECT FROM change) AS changed"


async def test_a_statement_unit_writes_its_events_with_its_change_in_one_statement(units):
    payload, change = a_payload(), uuid.uuid4()

    async with units.at_once() as uow:
        emitted = uow.emit(payload, subject=payload.application_id, region="110000")
        row = await uow.write(_ADD_CHANGE, _CHANGED, [change, True], gate="change")

    assert (row["changed"], row["events_written"]) == (True, 1)
    assert [r["event_id"] for r in await outbox_rows(units)] == [emitted.id]
    assert uow.written == [emitted]
    assert await changes(units) == 1


async def test_a_statement_unit_whose_gate_is_empty_writes_no_event(units):
    payload, change = a_payload(), uuid.uuid4()
    async with units.begin() as uow:
        await uow.conn.execute("INSERT INTO changes VALUES ($1)", change)

    async with units.at_once() as refused:  # the change's condition is false
        refused.emit(payload, subject=payload.application_id, region="110000")
        not_written = await refused.write(_ADD_CHANGE, _CHANGED, [uuid.uuid4(), False], gate="change")
    async with units.at_once() as known:  # the change is there already
        known.emit(payload, subject=payload.application_id, region="110000")
        conflicted = await known.write(_ADD_CHANGE, _CHANGED, [change, True], gate="change")

    assert (not_written["changed"], not_written["events_written"]) == (False, 0)
    assert (conflicted["changed"], conflicted["events_written"]) == (False, 0)
    assert await outbox_rows(units) == []
    assert refused.written == known.written == []
    assert await changes(units) == 1


async def test_a_statement_unit_runs_no_transaction_around_its_statement(units):
    async with units.at_once() as uow:
        in_transaction = uow.conn.is_in_transaction()
        await uow.write(_ADD_CHANGE, _CHANGED, [uuid.uuid4(), True], gate="change")
        with pytest.raises(RuntimeError, match="written by its statement"):
            await uow.flush()

    assert in_transaction is False
    assert await changes(units) == 1


@contextlib.contextmanager
def serving_a_staff_write() -> Iterator[audit._Holder]:
    """As while the request of an ops staff member is served: its action waits to be recorded."""
    holder = audit._Holder(action=audit.StaffAction(
        request_id=uuid.uuid4().hex, actor_sub="ops-1", actor_role="ops", actor_region="110000", method="POST",
        route="/v1/ops/something", path_params={}, request=None, reason="a test"))
    token = audit._current.set(holder)
    try:
        yield holder
    finally:
        audit._current.reset(token)


async def test_a_statement_unit_serving_a_staff_write_records_it_with_its_change(units):
    with serving_a_staff_write() as holder:
        async with units.at_once() as uow:
            in_transaction = uow.conn.is_in_transaction()
            await uow.write(_ADD_CHANGE, _CHANGED, [uuid.uuid4(), True], gate="change")

    assert in_transaction is True and holder.recorded is True
    async with units.pool.acquire() as conn:
        recorded = await conn.fetchrow("SELECT actor_sub, outcome FROM staff_actions WHERE request_id = $1",
                                       holder.action.request_id)
    assert (recorded["actor_sub"], recorded["outcome"]) == ("ops-1", "changed")
    assert await changes(units) == 1


async def test_a_statement_unit_that_wrote_nothing_leaves_the_staff_write_to_be_recorded_later(units):
    """A statement that found its reading out of date changed nothing: the request goes on (and is
    recorded with its change, or as answered), so nothing is recorded with that statement."""
    with serving_a_staff_write() as holder:
        async with units.at_once() as uow:
            await uow.write(_ADD_CHANGE, _CHANGED, [uuid.uuid4(), False], gate="change")

    assert (uow.wrote, holder.recorded) == (False, False)
    async with units.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM staff_actions WHERE request_id = $1",
                                   holder.action.request_id) == 0
