"""An operator's view of a small deployment: a producing 'enrollment' runtime, a consuming
'documents' runtime that records each withdrawal it applies, and the ``shebao`` command."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY

from shared.events import ApplicationWithdrawn, Envelope, topic_for
from shared.runtime import ServiceRuntime
from shared.settings import get_settings
from shared.unit_of_work import UnitOfWork
from tests.integration.harness import a_withdrawal, eventually, start_runtime
from tooling.cli import main
from tooling.ops.kafka import end_offsets as ops_end_offsets


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Operator:
    """Runs ``shebao`` against the session's broker and database, with the deployment's prefix."""

    def __init__(self, infrastructure, prefix: str) -> None:
        self.infrastructure = infrastructure
        self.prefix = prefix

    async def __call__(self, *argv: str, database: bool = False) -> Outcome:
        argv = [*argv, "--bootstrap-servers", self.infrastructure.bootstrap_servers, "--topic-prefix", self.prefix]
        if database:
            argv += ["--database-url", self.infrastructure.database_url]
        return await asyncio.to_thread(_run_cli, argv)


def _run_cli(argv: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return Outcome(code, out.getvalue(), err.getvalue())


async def record_withdrawal(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    await uow.conn.execute("INSERT INTO withdrawals (event_id, person_id) VALUES ($1, $2)", uow.origin.causation_id,
                           event.person_id)


class Deployment:
    """enrollment writes withdrawals to its outbox; documents applies them into ``withdrawals``."""

    def __init__(self, infrastructure, name: str, handler: Callable[[UnitOfWork, Any], Awaitable[None]]):
        self.infrastructure = infrastructure
        self.prefix = f"{name}."
        self.enrollment_schema = f"{name}_enr"
        self.documents_schema = f"{name}_doc"
        self.handler = handler
        self.enrollment: ServiceRuntime | None = None
        self.documents: ServiceRuntime | None = None

    @property
    def topic(self) -> str:
        return topic_for("enrollment", self.prefix)

    @property
    def documents_group(self) -> str:
        return f"{self.prefix}shebao.documents"

    async def start(self) -> None:
        self.enrollment = await start_runtime(self.infrastructure, name="enrollment", schema=self.enrollment_schema,
                                              prefix=self.prefix)
        await self.start_documents()
        async with self.documents.pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS withdrawals (seq bigserial, event_id uuid NOT NULL, "
                               "person_id uuid NOT NULL)")

    async def start_documents(self) -> None:
        self.documents = await start_runtime(
            self.infrastructure, name="documents", schema=self.documents_schema, prefix=self.prefix,
            handlers={ApplicationWithdrawn: self.handler},
        )

    async def stop_documents(self) -> None:
        """Stop the consuming service, once everything it applied is committed."""
        await eventually(self.documents_caught_up)
        await self.documents.stop()
        self.documents = None

    async def stop(self) -> None:
        for runtime in (self.documents, self.enrollment):
            if runtime is not None:
                await runtime.stop()

    async def withdraw(self, count: int = 1) -> list[Envelope]:
        """enrollment records ``count`` withdrawals (one transaction each) and publishes them."""
        events = [a_withdrawal() for _ in range(count)]
        for event in events:
            async with self.enrollment.pool.acquire() as conn, conn.transaction():
                await self.enrollment.outbox.add(conn, event)
        await eventually(lambda: self.all_sent(events))
        return events

    async def all_sent(self, events: list[Envelope]) -> bool:
        async with self.enrollment.pool.acquire() as conn:
            sent = await conn.fetchval("SELECT count(*) FROM outbox WHERE event_id = ANY($1) AND status = 'sent'",
                                       [event.id for event in events])
        return sent == len(events)

    async def withdrawals_applied(self) -> list[uuid.UUID]:
        async with self.documents.pool.acquire() as conn:
            return [row["event_id"] for row in await conn.fetch("SELECT event_id FROM withdrawals ORDER BY seq")]

    async def applied_all(self, events: list[Envelope]) -> bool:
        return {event.id for event in events} <= set(await self.withdrawals_applied())

    async def documents_caught_up(self) -> bool:
        return await self.committed_total() == await self.end_total()

    async def committed_total(self) -> int:
        committed = await committed_offsets(self.infrastructure, self.documents_group, self.topic)
        return sum(max(offset, 0) for offset in committed.values())

    async def end_total(self) -> int:
        return sum((await end_offsets(self.infrastructure, self.topic)).values())


async def committed_offsets(infrastructure, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=infrastructure.bootstrap_servers)
    await admin.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        answer = await admin.list_consumer_group_offsets(group, partitions=tps)
        return {tp.partition: answer[tp].offset for tp in tps}
    finally:
        await admin.close()


async def end_offsets(infrastructure, topic: str, partitions: int = 3) -> dict[int, int]:
    """One past the last record of each partition (read the way the operator tools read it)."""
    reader = AIOKafkaConsumer(bootstrap_servers=infrastructure.bootstrap_servers)
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: offset for tp, offset in (await ops_end_offsets(reader, tps)).items()}
    finally:
        await reader.stop()


def duplicates_skipped() -> float:
    """How many consumed events the documents service found in its inbox already (this process)."""
    labels = {"service": "documents", "event_type": "ApplicationWithdrawn", "outcome": "duplicate"}
    return REGISTRY.get_sample_value("shebao_events_consumed_total", labels) or 0.0


@pytest.fixture(autouse=True)
def fast_group_joins(monkeypatch):
    """The operator's group member uses the short session of the test services (Tansu waits on it)."""
    monkeypatch.setenv("SHEBAO_KAFKA_SESSION_TIMEOUT_MS", "2000")
    monkeypatch.setenv("SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS", "500")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def operator(infrastructure, unique_name) -> Operator:
    return Operator(infrastructure, f"{unique_name}.")


@pytest.fixture
async def deployment(infrastructure, unique_name):
    deployment = Deployment(infrastructure, unique_name, record_withdrawal)
    await deployment.start()
    yield deployment
    await deployment.stop()
