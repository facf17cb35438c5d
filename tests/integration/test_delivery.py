"""Outbox → relay → broker → inbox → effect, on the real broker and database."""

from __future__ import annotations

import asyncio
import uuid

import anyio
import pytest

from shared.events import ApplicationWithdrawn, topic_for
from shared.events.topics import TYPE_HEADER, dlq_topic
from shared.handlers import batch_handler
from shared.unit_of_work import UnitOfWork

from .harness import a_withdrawal, eventually, publish_raw, read_topic, start_runtime

pytestmark = pytest.mark.integration


async def record_effect(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    await uow.conn.execute(
        "INSERT INTO effects (event_id, person_id) VALUES ($1, $2)", uow.origin.causation_id, event.person_id
    )


class Pair:
    """A producing 'enrollment' runtime and a consuming 'documents' runtime, each with its own schema."""

    def __init__(self, producer, consumer, prefix: str) -> None:
        self.producer = producer
        self.consumer = consumer
        self.prefix = prefix

    async def write(self, envelopes, *, rollback: bool = False) -> None:
        class Rollback(Exception):
            pass

        try:
            async with self.producer.pool.acquire() as conn, conn.transaction():
                await self.producer.outbox.add_events(conn, envelopes)
                if rollback:
                    raise Rollback
        except Rollback:
            pass

    async def effects(self) -> list:
        async with self.consumer.pool.acquire() as conn:
            return await conn.fetch("SELECT event_id, person_id FROM effects ORDER BY seq")

    async def effect_ids(self) -> set:
        return {row["event_id"] for row in await self.effects()}

    async def has_effect_of(self, event_id) -> bool:
        return event_id in await self.effect_ids()

    async def effects_at_least(self, count: int) -> list | None:
        rows = await self.effects()
        return rows if len(rows) >= count else None


async def start_pair(infrastructure, unique_name: str, handler=record_effect) -> Pair:
    producer = await start_runtime(infrastructure, name="enrollment", schema=f"{unique_name}_enr",
                                   prefix=f"{unique_name}.")
    consumer = await start_runtime(
        infrastructure, name="documents", schema=f"{unique_name}_doc", prefix=f"{unique_name}.",
        handlers={ApplicationWithdrawn: handler},
    )
    async with consumer.pool.acquire() as conn:
        await conn.execute("CREATE TABLE effects (seq bigserial, event_id uuid NOT NULL, person_id uuid NOT NULL)")
    return Pair(producer, consumer, f"{unique_name}.")


async def test_event_written_in_one_schema_reaches_handler_of_another_service(pair):
    event = a_withdrawal()

    await pair.write([event])

    rows = await eventually(pair.effects)
    assert [(row["event_id"], row["person_id"]) for row in rows] == [(event.id, event.data.person_id)]
    async with pair.producer.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM outbox WHERE event_id = $1", event.id) == "sent"


async def test_consumed_batches_are_handled_on_the_event_loop_without_a_worker_thread(pair, monkeypatch):
    """FastStream resolves a handler's message parameter in a worker thread; the consumer takes the
    records as the batch's body instead, so that no batch pays a hop to a thread and back."""
    hops = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function, *args, **kwargs):
        hops.append(function)
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    events = [a_withdrawal() for _ in range(20)]

    await pair.write(events)

    rows = await eventually(lambda: pair.effects_at_least(len(events)))
    assert {row["event_id"] for row in rows} == {event.id for event in events}
    assert hops == []


async def test_rolled_back_transaction_publishes_nothing(pair, infrastructure):
    rolled_back, committed = a_withdrawal(), a_withdrawal()

    await pair.write([rolled_back], rollback=True)
    await pair.write([committed])

    await eventually(lambda: pair.has_effect_of(committed.id))
    assert rolled_back.id not in await pair.effect_ids()
    topic = topic_for("enrollment", pair.prefix)
    published = await read_topic(infrastructure.bootstrap_servers, topic, expected=1)
    assert [record.headers for record in published if str(rolled_back.id).encode() in record.value] == []


async def test_same_event_delivered_twice_is_applied_once(pair, infrastructure):
    event, marker = a_withdrawal(), a_withdrawal()
    await pair.write([event])
    await eventually(lambda: pair.has_effect_of(event.id))

    topic = topic_for("enrollment", pair.prefix)
    headers = [(TYPE_HEADER, b"ApplicationWithdrawn")]
    await publish_raw(infrastructure.bootstrap_servers, topic, event.to_json_bytes(), event.partition_key(), headers)
    await pair.write([marker])
    await eventually(lambda: pair.has_effect_of(marker.id))

    ids = [row["event_id"] for row in await pair.effects()]
    assert ids.count(event.id) == 1


async def test_failing_handler_is_retried_then_dead_lettered_and_partition_moves_on(infrastructure, unique_name):
    person = uuid.uuid4()
    poison, after = a_withdrawal(person), a_withdrawal(person)  # same key: same partition
    attempts: list[uuid.UUID] = []

    async def fragile(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
        if uow.origin.causation_id == poison.id:
            attempts.append(uow.origin.causation_id)
            raise ValueError("cannot apply this withdrawal")
        await record_effect(uow, event)

    pair = await start_pair(infrastructure, unique_name, handler=fragile)
    try:
        await pair.write([poison])
        await pair.write([after])

        await eventually(lambda: pair.has_effect_of(after.id))
        assert poison.id not in await pair.effect_ids()
        assert attempts == [poison.id] * 3
        dlq = dlq_topic(topic_for("enrollment", pair.prefix))
        [dead] = await read_topic(infrastructure.bootstrap_servers, dlq, expected=1)
        headers = dict(dead.headers)
        assert b"ValueError: cannot apply this withdrawal" in headers["dlq_error"]
        assert headers[TYPE_HEADER] == b"ApplicationWithdrawn"
        assert headers["dlq_attempts"] == b"3"
        assert dead.value == poison.to_json_bytes()
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def test_an_os_error_of_the_handler_while_the_database_answers_is_dead_lettered(infrastructure, unique_name):
    person = uuid.uuid4()
    poison, after = a_withdrawal(person), a_withdrawal(person)  # same key: same partition

    async def writes_a_file(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
        if uow.origin.causation_id == poison.id:
            raise OSError(28, "No space left on device")  # the handler's disk, not the database
        await record_effect(uow, event)

    pair = await start_pair(infrastructure, unique_name, handler=writes_a_file)
    try:
        await pair.write([poison])
        await pair.write([after])

        await eventually(lambda: pair.has_effect_of(after.id))
        dlq = dlq_topic(topic_for("enrollment", pair.prefix))
        [dead] = await read_topic(infrastructure.bootstrap_servers, dlq, expected=1)
        assert b"OSError: [Errno 28] No space left on device" in dict(dead.headers)["dlq_error"]
        assert dead.value == poison.to_json_bytes()
        assert poison.id not in await pair.effect_ids()
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def test_invalid_envelope_goes_straight_to_dead_letters(pair, infrastructure):
    topic = topic_for("enrollment", pair.prefix)
    bad = b'{"type": "ApplicationWithdrawn", "data": {"person_id": "not-a-uuid"}}'
    await publish_raw(infrastructure.bootstrap_servers, topic, bad, b"k", [(TYPE_HEADER, b"ApplicationWithdrawn")])
    good = a_withdrawal()
    await pair.write([good])

    await eventually(lambda: pair.has_effect_of(good.id))
    [dead] = await read_topic(infrastructure.bootstrap_servers, dlq_topic(topic), expected=1)
    headers = dict(dead.headers)
    assert headers["dlq_error"].startswith(b"invalid event:")
    assert headers["dlq_attempts"] == b"0"
    assert dead.value == bad


async def test_events_of_a_person_arrive_in_the_order_they_were_committed(pair):
    people = [uuid.uuid4() for _ in range(4)]
    events = [a_withdrawal(people[i % 4]) for i in range(40)]

    await asyncio.gather(*(pair.write([event]) for event in events[:20]))
    for event in events[20:]:
        await pair.write([event])

    rows = await eventually(lambda: pair.effects_at_least(40))
    async with pair.producer.pool.acquire() as conn:
        committed = await conn.fetch("SELECT event_id, partition_key FROM outbox ORDER BY seq")
    for person in people:
        expected = [row["event_id"] for row in committed if row["partition_key"] == str(person)]
        assert [row["event_id"] for row in rows if row["person_id"] == person] == expected


async def test_batch_handler_applies_runs_once_each_in_order(infrastructure, unique_name):
    calls: list[int] = []

    @batch_handler
    async def record_effects(uow: UnitOfWork, envelopes) -> None:
        calls.append(len(envelopes))
        await uow.conn.executemany(
            "INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
            [(envelope.id, envelope.data.person_id) for envelope in envelopes],
        )

    pair = await start_pair(infrastructure, unique_name, handler=record_effects)
    try:
        person = uuid.uuid4()
        events = [a_withdrawal(person) for _ in range(30)]
        await pair.write(events)
        rows = await eventually(lambda: pair.effects_at_least(30))

        assert [row["event_id"] for row in rows] == [event.id for event in events]
        assert sum(calls) == 30
        topic = topic_for("enrollment", pair.prefix)
        await publish_raw(infrastructure.bootstrap_servers, topic, events[0].to_json_bytes(),
                          events[0].partition_key(), [(TYPE_HEADER, b"ApplicationWithdrawn")])
        marker = a_withdrawal(person)
        await pair.write([marker])
        await eventually(lambda: pair.has_effect_of(marker.id))
        assert len(await pair.effects()) == 31
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def test_only_the_relay_leader_flushes_the_outbox_at_shutdown(infrastructure, unique_name):
    replicas = [await start_runtime(infrastructure, name="enrollment", schema=f"{unique_name}_enr",
                                    prefix=f"{unique_name}.") for _ in range(2)]
    flushed: list[int] = []
    try:
        await eventually(lambda: _one_leader(replicas))
        for index, replica in enumerate(replicas):
            replica.relay.flush = _recording(replica.relay.flush, flushed, index)
        leader = next(index for index, replica in enumerate(replicas) if replica.relay.is_leader)
        standby = 1 - leader

        await replicas[standby].stop()
        await replicas[leader].stop()
    finally:
        for replica in replicas:
            if replica.pool is not None and not replica.pool.is_closing():
                await replica.stop()

    assert flushed == [leader]


async def _one_leader(replicas) -> bool:
    return sum(replica.relay.is_leader for replica in replicas) == 1


def _recording(flush, calls: list[int], index: int):
    async def recorded() -> int:
        calls.append(index)
        return await flush()

    return recorded


async def test_the_relay_lingers_after_a_wake_up_so_close_commits_go_in_one_pass(infrastructure, unique_name):
    producer = await start_runtime(infrastructure, name="enrollment", schema=f"{unique_name}_enr",
                                   prefix=f"{unique_name}.", outbox_linger_ms=400, outbox_poll_interval_s=30)
    await eventually(lambda: _true_soon(producer.relay.is_leader))
    await asyncio.sleep(0.3)  # listening by now: from here on only a commit wakes the relay
    passes: list[int] = []
    publish_pending = producer.relay.publish_pending

    async def counted() -> int:
        sent = await publish_pending()
        if sent:
            passes.append(sent)
        return sent

    producer.relay.publish_pending = counted
    try:
        events = [a_withdrawal() for _ in range(5)]
        for event in events:  # five commits 50 ms apart, all inside the linger of the first one's wake-up
            async with producer.pool.acquire() as conn, conn.transaction():
                await producer.outbox.add_events(conn, [event])
            await asyncio.sleep(0.05)
        await read_topic(infrastructure.bootstrap_servers, topic_for("enrollment", f"{unique_name}."), 5)
    finally:
        await producer.stop()

    assert passes == [5]


async def _true_soon(value: bool) -> bool:
    return value
