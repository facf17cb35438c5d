"""Delivery's edge cases, on the real broker and database: a row the broker refuses is parked
and the rest go on; the locks of a consumer's batch and of a job are taken in one order; a record
is dead-lettered once, whatever redelivery follows."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from shared.consumer import DatabaseUnavailable
from shared.events import ApplicationWithdrawn, topic_for
from shared.events.topics import TYPE_HEADER, dlq_topic
from shared.outbox import broker_unavailable
from shared.unit_of_work import UnitOfWork
from tooling.ops import outbox as outbox_ops

from . import harness
from .harness import a_withdrawal, eventually, publish_raw, read_topic, start_runtime
from .test_delivery import record_effect, start_pair

pytestmark = pytest.mark.integration


async def write_oversized_row(runtime, person: uuid.UUID) -> int:
    """An outbox row of ``person`` the producer can never send (over its 1 MiB request size)."""
    event = a_withdrawal(person)
    async with runtime.pool.acquire() as conn:
        return await conn.fetchval(
            "INSERT INTO outbox (event_id, event_type, topic, partition_key, envelope) "
            "VALUES ($1, 'ApplicationWithdrawn', $2, $3, $4) RETURNING seq",
            event.id, topic_for("enrollment", runtime.settings.topic_prefix), str(person), b"x" * (2 * 1024 * 1024),
        )


async def outbox_row(runtime, seq: int):
    async with runtime.pool.acquire() as conn:
        return await conn.fetchrow("SELECT status, refusals, last_error FROM outbox WHERE seq = $1", seq)


async def test_a_row_the_broker_refuses_is_parked_and_the_rest_go_on(infrastructure, unique_name):
    pair = await start_pair(infrastructure, unique_name)
    stuck_person = uuid.uuid4()
    try:
        parked_seq = await write_oversized_row(pair.producer, stuck_person)
        behind = a_withdrawal(stuck_person)  # same key: must wait behind the parked row
        others = [a_withdrawal() for _ in range(5)]
        await pair.write([behind])
        await pair.write(others)

        await eventually(lambda: _has_effects(pair, {event.id for event in others}))

        async def parked() -> bool:
            return (await outbox_row(pair.producer, parked_seq))["status"] == "failed"

        await eventually(parked)
        row = await outbox_row(pair.producer, parked_seq)
        assert row["refusals"] == pair.producer.settings.outbox_max_refusals
        assert "MessageSizeTooLarge" in row["last_error"]
        await asyncio.sleep(1.5)  # a few more relay passes: the row behind stays back
        assert behind.id not in await pair.effect_ids()
        async with pair.producer.pool.acquire() as conn:
            assert await conn.fetchval("SELECT status FROM outbox WHERE event_id = $1", behind.id) == "pending"
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def test_an_operator_sees_the_parked_row_and_puts_it_back_in_line(infrastructure, unique_name):
    pair = await start_pair(infrastructure, unique_name)
    stuck_person = uuid.uuid4()
    settings = harness.test_settings(infrastructure, f"{unique_name}_enr", f"{unique_name}.")
    try:
        parked_seq = await write_oversized_row(pair.producer, stuck_person)
        behind = a_withdrawal(stuck_person)
        await pair.write([behind])

        async def listed() -> list:
            return (await outbox_ops.status(settings, f"{unique_name}_enr")).parked

        [shown] = await eventually(listed)
        assert (shown.seq, shown.refusals) == (parked_seq, pair.producer.settings.outbox_max_refusals)
        assert "MessageSizeTooLarge" in shown.error
        status = await outbox_ops.status(settings, f"{unique_name}_enr")
        assert status.held_behind_parked == 1
        assert "1 parked" in outbox_ops.format_status("enrollment", status)

        # the cause is fixed (here: the row is made sendable, as a raised size limit would), then re-published
        async with pair.producer.pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET envelope = $2 WHERE seq = $1", parked_seq,
                               a_withdrawal(stuck_person).to_json_bytes())
        again = await outbox_ops.republish_parked(settings, f"{unique_name}_enr")
        assert again.count == 1

        await eventually(lambda: _has_effects(pair, {behind.id}))
        assert (await outbox_row(pair.producer, parked_seq))["status"] == "sent"
        async with pair.consumer.pool.acquire() as conn:
            order = await conn.fetch("SELECT person_id FROM effects ORDER BY seq")
        assert [row["person_id"] for row in order] == [stuck_person, stuck_person]  # the parked one first
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


def test_an_outage_of_the_broker_is_no_refusal_of_the_row():
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError, NodeNotReadyError

    assert broker_unavailable(TimeoutError())
    assert broker_unavailable(KafkaTimeoutError())
    assert broker_unavailable(KafkaConnectionError())
    assert broker_unavailable(NodeNotReadyError())
    assert not broker_unavailable(MessageSizeTooLargeError())
    assert not broker_unavailable(ValueError("bad header"))


async def test_a_batch_and_a_job_writing_the_same_people_never_deadlock(infrastructure, unique_name):
    """The consumer's batch writes its events once, sorted, at its end; a job's unit writes its own
    sorted too. Before, the batch locked each event's person as its handler ended, in the batch's
    order, while the job waited for them in sorted order: a DeadlockDetectedError."""
    first, second = await _in_lock_order(infrastructure, (uuid.uuid4(), uuid.uuid4()))
    job_flushing = asyncio.Event()
    batch_started = asyncio.Event()

    async def handler(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
        await record_effect(uow, event)
        uow.emit(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=event.person_id), subject=event.person_id)
        if event.person_id == second:  # the batch's first event: go on once the job waits for its locks
            batch_started.set()
            await asyncio.wait_for(job_flushing.wait(), 20)
            await asyncio.sleep(0.5)

    pair = await start_pair(infrastructure, unique_name, handler=handler)
    try:
        await pair.write([a_withdrawal(second), a_withdrawal(first)])
        await asyncio.wait_for(batch_started.wait(), 30)

        async with pair.consumer.pool.acquire() as conn, conn.transaction():
            unit = UnitOfWork(conn, pair.consumer.outbox)
            for person in (first, second):
                unit.emit(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=person),
                          subject=person, region=a_withdrawal().region)
            job_flushing.set()
            await unit.flush()  # raised DeadlockDetectedError here before
            await asyncio.sleep(0.2)
        await eventually(lambda: _count_effects(pair, 2))
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def _in_lock_order(infrastructure, people: tuple[uuid.UUID, uuid.UUID]) -> tuple[uuid.UUID, uuid.UUID]:
    """The two people in the order a sorted write locks them (that of the database-wide keys
    used before, so that the test shows the deadlock on that code)."""
    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        hashes = {person: await conn.fetchval("SELECT hashtextextended($1, 0)", str(person)) for person in people}
    finally:
        await conn.close()
    low, high = sorted(people, key=hashes.__getitem__)
    return low, high


async def test_outbox_locks_of_two_services_about_one_person_do_not_wait_for_each_other(infrastructure,
                                                                                         unique_name):
    one = await start_runtime(infrastructure, name="enrollment", schema=f"{unique_name}_a", prefix=f"{unique_name}.")
    other = await start_runtime(infrastructure, name="billing", schema=f"{unique_name}_b", prefix=f"{unique_name}.")
    person = uuid.uuid4()
    try:
        async with one.pool.acquire() as holder, holder.transaction():
            await one.outbox.add_events(holder, [a_withdrawal(person)])  # holds the person's key in schema a
            async with other.pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL lock_timeout = '2s'")
                await other.outbox.add_events(conn, [a_withdrawal(person)])  # schema b: its own key
    finally:
        await one.stop()
        await other.stop()


async def test_a_record_dead_lettered_before_a_database_outage_is_not_dead_lettered_again(infrastructure,
                                                                                            unique_name):
    pair = await start_pair(infrastructure, unique_name)
    topic = topic_for("enrollment", pair.prefix)
    try:
        await publish_raw(infrastructure.bootstrap_servers, topic, b"{not json", key=b"k",
                          headers=[(TYPE_HEADER, b"ApplicationWithdrawn")])
        dlq = dlq_topic(topic)
        [dead] = await read_topic(infrastructure.bootstrap_servers, dlq, expected=1)

        # the same batch delivered again (as after an outage that rewinds it): nothing more goes out
        consumer = pair.consumer.consumer
        record = _as_record(dead)
        await consumer.process_records([record])
        await consumer.dead_letter(record, "again", attempts=1)
        assert len(await read_topic(infrastructure.bootstrap_servers, dlq, expected=2, timeout_s=3)) == 1
        async with pair.consumer.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM dead_lettered") == 1
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def test_an_outage_after_a_dead_letter_in_one_batch_sends_it_once(infrastructure, unique_name):
    person = uuid.uuid4()
    poison, later = a_withdrawal(person), a_withdrawal()
    outage = {"on": True}

    async def fragile(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
        if uow.origin.causation_id == poison.id:
            raise ValueError("cannot apply this withdrawal")
        if uow.origin.causation_id == later.id and outage["on"]:
            outage["on"] = False
            raise DatabaseUnavailable("the database went away")  # rewinds the batch, poison included
        await record_effect(uow, event)

    pair = await start_pair(infrastructure, unique_name, handler=fragile)
    try:
        await pair.write([poison, later])
        await eventually(lambda: _has_effects(pair, {later.id}))
        dlq = dlq_topic(topic_for("enrollment", pair.prefix))
        [dead] = await read_topic(infrastructure.bootstrap_servers, dlq, expected=1)
        assert dead.value == poison.to_json_bytes()
        assert len(await read_topic(infrastructure.bootstrap_servers, dlq, expected=2, timeout_s=3)) == 1
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


def _as_record(dead):
    from aiokafka import ConsumerRecord

    headers = dict(dead.headers)
    return ConsumerRecord(
        topic=headers["dlq_original_topic"].decode(), partition=int(headers["dlq_original_partition"]),
        offset=int(headers["dlq_original_offset"]), timestamp=0, timestamp_type=0, key=dead.key, value=dead.value,
        checksum=None, serialized_key_size=0, serialized_value_size=0, headers=[(TYPE_HEADER, b"ApplicationWithdrawn")],
    )


async def _has_effects(pair, ids: set) -> bool:
    return ids <= await pair.effect_ids()


async def _count_effects(pair, n: int) -> bool:
    return len(await pair.effects()) >= n
