"""The relay keeps every event written while the broker is frozen and delivers them after."""

from __future__ import annotations

import asyncio
import time
import uuid
from types import SimpleNamespace

import pytest

from tooling.devstack import EmbeddedBroker

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
