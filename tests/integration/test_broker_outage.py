"""The relay keeps every event written while the broker is frozen and delivers them after; a batch
the broker does not acknowledge stays pending."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer

from shared.db import apply_migrations, create_pool
from shared.events import topic_for
from shared.outbox import Outbox, OutboxRelay, RelayConfig
from tooling.devstack import EmbeddedBroker, ensure_topics

from .harness import a_withdrawal, eventually
from .test_delivery import start_pair

pytestmark = pytest.mark.integration

OUTAGE_S = 30


@pytest.fixture
def own_broker():
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


async def test_events_written_while_broker_is_paused_are_all_delivered_in_order(
    infrastructure, own_broker, unique_name
):
    infra = SimpleNamespace(database_url=infrastructure.database_url, bootstrap_servers=own_broker.bootstrap_servers)
    pair = await start_pair(infra, unique_name)
    try:
        warm_up = a_withdrawal()
        await pair.write([warm_up])
        await eventually(lambda: _has(pair, warm_up.id))

        people = [uuid.uuid4() for _ in range(5)]
        events = [a_withdrawal(people[i % 5]) for i in range(50)]
        own_broker.pause()
        paused_at = time.monotonic()
        try:
            for event in events:
                await pair.write([event])
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - paused_at)))
            async with pair.producer.pool.acquire() as conn:
                pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
            assert pending == 50
        finally:
            own_broker.resume()

        rows = await eventually(lambda: _at_least(pair, 51), timeout_s=90)
        for person in people:
            expected = [event.id for event in events if event.data.person_id == person]
            assert [row["event_id"] for row in rows if row["person_id"] == person] == expected
        async with pair.producer.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'") == 0
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def _has(pair, event_id) -> bool:
    return event_id in await pair.effect_ids()


async def _at_least(pair, count: int):
    rows = await pair.effects()
    return rows if len(rows) >= count else None


async def test_a_batch_the_broker_does_not_acknowledge_stays_pending(infrastructure, own_broker, unique_name):
    """The relay marks the rows it reads sent in a transaction that commits only after the broker's
    acknowledgement: a send that times out leaves them pending, its one attempt and error recorded."""
    schema = f"{unique_name}_relay"
    await apply_migrations(infrastructure.database_url, schema, None)
    pool = await create_pool(infrastructure.database_url, schema)
    producer = AIOKafkaProducer(bootstrap_servers=own_broker.bootstrap_servers)
    events = [a_withdrawal() for _ in range(3)]
    await ensure_topics(own_broker.bootstrap_servers, [topic_for("enrollment", f"{unique_name}.")], 3)
    await producer.start()
    relay = OutboxRelay(RelayConfig(service="enrollment", database_url=infrastructure.database_url, schema=schema,
                                    publish_timeout_s=1.0), pool, producer)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Outbox(topic_prefix=f"{unique_name}.").add_events(conn, events)
        own_broker.pause()
        try:
            with pytest.raises(asyncio.TimeoutError):
                await relay.publish_pending()
            rows = await _outbox_rows(pool)
            assert [(row["status"], row["attempts"], row["sent_at"]) for row in rows] == [("pending", 1, None)] * 3
            assert all("TimeoutError" in row["last_error"] for row in rows)
        finally:
            own_broker.resume()

        async def all_sent() -> bool:
            with contextlib.suppress(asyncio.TimeoutError):
                await relay.flush()
            return all(row["status"] == "sent" for row in await _outbox_rows(pool))

        await eventually(all_sent, timeout_s=60)
        rows = await _outbox_rows(pool)
        assert [row["event_id"] for row in rows] == [event.id for event in events]
        assert all(row["sent_at"] is not None and row["last_error"] is None for row in rows)
    finally:
        await producer.stop()
        await pool.close()


async def _outbox_rows(pool):
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT event_id, status, attempts, sent_at, last_error FROM outbox ORDER BY seq")
