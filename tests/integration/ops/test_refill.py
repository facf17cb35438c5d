"""Refilling an empty broker from an outbox (what ``make run`` does at start): the sent rows, in
sequence order, with the relay's key, value, headers and first-sending time; pending rows are
left to the relay; rows of topics the deployment does not have are counted, not published."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.db import apply_migrations
from shared.events import all_topics, topic_for
from shared.settings import Settings
from tests.integration.harness import a_withdrawal, read_topic
from tooling.devstack import ensure_topics
from tooling.refill import refill_topics

pytestmark = pytest.mark.integration


async def an_outbox(infrastructure, schema: str, rows: list[tuple]) -> None:
    """``schema``'s outbox holding ``rows`` of (envelope, topic, status, sent_at), in that order."""
    await apply_migrations(infrastructure.database_url, schema, None)
    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        for envelope, topic, status, sent_at in rows:
            await conn.execute(
                f"INSERT INTO {schema}.outbox (event_id, event_type, topic, partition_key, envelope, status, sent_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                envelope.id, envelope.type, topic, envelope.partition_key().decode(), envelope.to_json_bytes(),
                status, sent_at)
    finally:
        await conn.close()


async def test_sent_events_are_published_again_in_order_as_the_relay_did(infrastructure, unique_name):
    prefix, schema = f"{unique_name}.", unique_name
    topic = topic_for("enrollment", prefix)
    person = uuid.uuid4()
    sent = [a_withdrawal(person) for _ in range(5)]
    pending, elsewhere = a_withdrawal(person), a_withdrawal(person)
    first_sent = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await an_outbox(infrastructure, schema, [
        *[(e, topic, "sent", first_sent + timedelta(seconds=i)) for i, e in enumerate(sent)],
        (pending, topic, "pending", None),
        (elsewhere, "another.shebao.enrollment.v1", "sent", first_sent),
    ])
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)
    settings = Settings(kafka_bootstrap_servers=infrastructure.bootstrap_servers,
                        database_url=infrastructure.database_url, topic_prefix=prefix)
    progress: list[tuple[int, int]] = []

    refilled = await refill_topics(settings, [schema, "no_such_schema"], all_topics(prefix),
                                   on_progress=lambda done, total: progress.append((done, total)))

    records = await read_topic(infrastructure.bootstrap_servers, topic, expected=6, timeout_s=5)
    assert [r.value for r in records] == [e.to_json_bytes() for e in sent]  # one key: one partition, in order
    assert {r.key for r in records} == {str(person).encode()}
    assert [dict(r.headers) for r in records] == [
        {"ce_type": b"ApplicationWithdrawn", "ce_id": str(e.id).encode(), "ce_source": schema.encode()} for e in sent]
    assert [r.timestamp for r in records] == [int((first_sent + timedelta(seconds=i)).timestamp() * 1000)
                                              for i in range(5)]
    assert refilled.by_topic == {topic: 5}
    assert refilled.skipped == {"another.shebao.enrollment.v1": 1}
    assert refilled.schemas_without_outbox == ["no_such_schema"]
    assert progress[0] == (0, 5) and progress[-1] == (5, 5)
