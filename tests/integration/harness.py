"""Helpers to run the shared runtime in-process against the session's real broker and database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.db import apply_migrations
from shared.events import ApplicationWithdrawn, Envelope, all_topics, make_envelope
from shared.handlers import HandlerTable
from shared.runtime import ServiceDefinition, ServiceRuntime
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork, UnitsOfWork
from tooling.devstack import ensure_topics

REGION = "110000"


def test_settings(
    infrastructure, schema: str, prefix: str, settings_class: type[Settings] = Settings, **overrides: Any
) -> Settings:
    """Settings for an in-process service on the session's infrastructure, fast timings."""
    values = dict(
        service=schema,
        topic_prefix=prefix,
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.bootstrap_servers,
        outbox_poll_interval_s=0.2,
        consumer_max_attempts=3,
        consumer_retry_backoff_s=0.01,
        kafka_session_timeout_ms=2_000,
        kafka_heartbeat_interval_ms=500,
        # the service tests play staff of several regions against one deployment
        served_regions_list="*",
    )
    values.update(overrides)
    return settings_class(**values)


async def start_runtime(
    infrastructure, *, name: str, schema: str, prefix: str, handlers: HandlerTable | None = None, **overrides: Any
) -> ServiceRuntime:
    """Migrate ``schema``, create the prefix's topics and start a runtime for service ``name``."""
    settings = test_settings(infrastructure, schema, prefix, **overrides)
    await apply_migrations(settings.database_url, schema, None)
    await ensure_topics(settings.kafka_bootstrap_servers, all_topics(prefix), 3)
    runtime = ServiceRuntime(ServiceDefinition(name=name, migrations_dir=None, handlers=handlers or {}), settings)
    await runtime.start()
    if runtime.consumer is not None:
        await wait_until_assigned(runtime)
    return runtime


async def wait_until_assigned(runtime: ServiceRuntime, timeout_s: float = 30.0) -> None:
    """Wait until the runtime's consumer-group member holds its partitions."""

    async def assigned() -> bool:
        return bool(runtime.consumer.assigned_partitions())

    await eventually(assigned, timeout_s=timeout_s, interval_s=0.05)


def a_withdrawal(person_id: uuid.UUID | None = None) -> Envelope:
    """An ApplicationWithdrawn event (emitted by enrollment) for ``person_id``."""
    person_id = person_id or uuid.uuid4()
    application_id = uuid.uuid4()
    payload = ApplicationWithdrawn(application_id=application_id, person_id=person_id)
    return make_envelope(payload, subject=str(application_id), region=REGION)


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 30.0, interval_s: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value after the timeout."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s} s (last value: {value!r})")


async def read_topic(bootstrap_servers: str, topic: str, expected: int, timeout_s: float = 20.0) -> list:
    """Read ``expected`` records of ``topic`` from the beginning (no consumer group)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    records: list = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


def commit_later(conn: asyncpg.Connection, committed: asyncio.Event, after_s: float = 0.3) -> None:
    """COMMIT the transaction open on ``conn`` ``after_s`` from now, in a task of its own (by then the
    statement under test waits for a lock that transaction holds); ``committed`` is set once it has."""
    async def commit() -> None:
        await asyncio.sleep(after_s)
        await conn.execute("COMMIT")
        committed.set()

    task = asyncio.get_running_loop().create_task(commit())
    _committing.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_committing.discard)


_committing: set[asyncio.Task] = set()


async def publish_raw(bootstrap_servers: str, topic: str, value: bytes, key: bytes, headers=()) -> None:
    """Put bytes on a topic directly, as a misbehaving or replaying producer would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=list(headers))
    finally:
        await producer.stop()


@asynccontextmanager
async def rolled_back(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection of ``pool`` whose work is undone at the end: each test starts from the same state."""
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


async def apply_run(conn: asyncpg.Connection, units: UnitsOfWork, handler: Callable, run: Sequence[Envelope]
                    ) -> list[str]:
    """Apply ``run`` (consecutive events of one type) with a batch ``handler`` as the consumer does, in a
    transaction of its own on ``conn`` with the outbox of ``units``; returns the statements the handler ran."""
    statements: list[str] = []

    def count(query) -> None:
        statements.append(query.query)

    async with conn.transaction():
        async with UnitOfWork.inside(conn, units.outbox) as uow:
            conn.add_query_logger(count)
            try:
                await handler(uow, list(run))
            finally:
                conn.remove_query_logger(count)
    return statements
