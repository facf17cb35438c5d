"""A database restart costs the pipeline time, never events: records that arrive while the
consumer's database is down are delivered again once it is back, none dead-lettered."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.events import topic_for
from shared.events.topics import TYPE_HEADER, dlq_topic
from tooling.devstack import EmbeddedPostgres

from .harness import a_withdrawal, eventually, publish_raw, read_topic
from .test_delivery import start_pair

pytestmark = pytest.mark.integration


@pytest.fixture
def own_postgres():
    postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="shebao-pg-outage-")) / "postgres", durable=False)
    postgres.start()
    postgres.create_database("shebao")
    yield postgres
    postgres.stop()


async def test_events_arriving_while_the_database_restarts_are_applied_once(infrastructure, own_postgres, unique_name):
    infra = SimpleNamespace(database_url=own_postgres.url("shebao"), bootstrap_servers=infrastructure.bootstrap_servers)
    pair = await start_pair(infra, unique_name)
    try:
        before = a_withdrawal()
        await pair.write([before])
        await eventually(lambda: _has(pair, before.id))

        own_postgres.stop()
        during = [a_withdrawal() for _ in range(5)]
        topic = topic_for("enrollment", pair.prefix)
        for event in during:
            await publish_raw(infrastructure.bootstrap_servers, topic, event.to_json_bytes(), event.partition_key(),
                              [(TYPE_HEADER, b"ApplicationWithdrawn")])
        await asyncio.sleep(3)  # the consumer meets the closed database meanwhile
        own_postgres.start()

        after = a_withdrawal()
        await eventually(lambda: _can_write(pair, after), timeout_s=30)
        ids = await eventually(lambda: _all_of(pair, [before, *during, after]), timeout_s=60)

        assert sorted(ids) == sorted([before.id, *[e.id for e in during], after.id])
        assert await read_topic(infrastructure.bootstrap_servers, dlq_topic(topic), expected=1, timeout_s=2) == []
    finally:
        await pair.consumer.stop()
        await pair.producer.stop()


async def _has(pair, event_id) -> bool:
    return event_id in await pair.effect_ids()


async def _can_write(pair, event) -> bool:
    try:
        await pair.write([event])
        return True
    except Exception:  # the pool still hands out connections the restart closed
        return False


async def _all_of(pair, events):
    try:
        rows = await pair.effects()
    except Exception:
        return None
    ids = [row["event_id"] for row in rows]
    return ids if {e.id for e in events} <= set(ids) else None
