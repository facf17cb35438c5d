"""Local history survives a restart: refill the embedded broker's topics from the outboxes.

The embedded broker of ``make run`` (Tansu, memory storage) starts empty every time, while
the embedded PostgreSQL keeps every service's state. Each service's ``outbox`` still holds
the events it sent (locally the launcher keeps them all: ``LOCAL_OUTBOX_RETENTION_DAYS``),
so before the services start, the launcher publishes every *sent* row again, schema by
schema in sequence order, exactly as the relay first did: same topic, key, value and
``ce_*`` headers, and the record timestamp of its first sending (so ``replay --to-datetime``
and analytics by time see the original times). Per-key order is the outbox order, which is
commit order. Rows still pending are left to the service's own relay, which publishes them
after these, as it would have.

The consumer groups' offsets lived in the broker too, so the services consume their topics
from the beginning again: every event they had applied is in their inbox and is skipped.
Not refilled: dead-letter topics (their records were never in an outbox) and the offsets of
any other consumer group (a new analytics group reads the whole history from the start).

Production never runs this: Apache Kafka keeps its topics, and the outbox keeps sent rows
only ``SHEBAO_OUTBOX_RETENTION_DAYS`` (7 by default) for ``shebao outbox republish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import asyncpg

from shared.db import check_schema_name
from shared.events import ID_HEADER, SOURCE_HEADER, TYPE_HEADER
from shared.kafka import new_producer
from shared.settings import Settings

LOCAL_OUTBOX_RETENTION_DAYS = 36500
"""What ``make run`` sets ``SHEBAO_OUTBOX_RETENTION_DAYS`` to with its embedded broker (unless it is
set): a hundred years, i.e. the outbox keeps every event of the local history."""

BATCH = 1000


@dataclass
class Refilled:
    """How many events were published again, per topic, and what was left out and why."""

    by_topic: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # topic the broker does not have -> rows
    schemas_without_outbox: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.by_topic.values())


async def refill_topics(
    settings: Settings,
    schemas: Iterable[str],
    topics: Iterable[str],
    *,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> Refilled:
    """Publish every sent outbox row of ``schemas`` (each schema's service name is its ``ce_source``)
    to its topic, in sequence order, if the topic is one of ``topics``; see the module."""
    wanted = set(topics)
    result = Refilled()
    conn = await asyncpg.connect(settings.database_url)
    producer = new_producer(settings)
    await producer.start()
    try:
        plan = await _count(conn, [check_schema_name(s) for s in schemas], wanted, result)
        total, done = sum(plan.values()), 0
        on_progress(0, total)
        for schema in plan:
            async for rows in _sent_rows(conn, schema):
                done += await _publish(producer, schema, rows, wanted, result)
                on_progress(done, total)
        await producer.flush()
    finally:
        await producer.stop()
        await conn.close()
    return result


async def _count(conn: asyncpg.Connection, schemas: list[str], wanted: set[str], result: Refilled) -> dict[str, int]:
    """Rows to publish per schema (that has an outbox); rows of unknown topics go to ``skipped``."""
    plan: dict[str, int] = {}
    for schema in schemas:
        if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.outbox") is None:
            result.schemas_without_outbox.append(schema)
            continue
        rows = await conn.fetch(f"SELECT topic, count(*) AS n FROM {schema}.outbox WHERE status = 'sent' GROUP BY 1")
        plan[schema] = sum(row["n"] for row in rows if row["topic"] in wanted)
        for row in rows:
            if row["topic"] not in wanted:
                result.skipped[row["topic"]] = result.skipped.get(row["topic"], 0) + row["n"]
    return plan


async def _sent_rows(conn: asyncpg.Connection, schema: str):
    """The sent rows of ``schema``'s outbox in sequence order, ``BATCH`` at a time (keyset paging,
    so a large outbox is never held in memory at once)."""
    last = 0
    while True:
        rows = await conn.fetch(
            f"""SELECT seq, event_id, event_type, topic, partition_key, envelope,
                       floor(extract(epoch FROM coalesce(sent_at, created_at)) * 1000)::bigint AS sent_ms
                FROM {schema}.outbox WHERE status = 'sent' AND seq > $1 ORDER BY seq LIMIT $2""",
            last, BATCH,
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["seq"]


async def _publish(producer, source: str, rows, wanted: set[str], result: Refilled) -> int:
    """Send one batch (the relay's headers) and wait for the broker's acknowledgements."""
    deliveries = []
    for row in rows:
        if row["topic"] not in wanted:
            continue
        headers = [(TYPE_HEADER, row["event_type"].encode()), (ID_HEADER, str(row["event_id"]).encode()),
                   (SOURCE_HEADER, source.encode())]
        deliveries.append(await producer.send(row["topic"], value=bytes(row["envelope"]),
                                              key=row["partition_key"].encode(), headers=headers,
                                              timestamp_ms=row["sent_ms"]))
        result.by_topic[row["topic"]] = result.by_topic.get(row["topic"], 0) + 1
    for delivery in deliveries:
        await delivery
    return len(deliveries)
