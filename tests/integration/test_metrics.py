"""What an operator reads on ``GET /metrics``, against the real broker and database: consumer lag
and dead-letter depth from the broker's offsets, business figures counted only for committed
events, request metrics by route template, readiness and periodic jobs, all with the region."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import APIRouter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from shared.broker_metrics import BrokerProbe
from shared.db import apply_migrations, create_pool
from shared.events import ApplicationWithdrawn, PremiumDue, all_topics, dlq_topic, topic_for
from shared.outbox import Outbox
from shared.runtime import PeriodicJob, ServiceDefinition, ServiceRuntime, build_http_app
from shared.unit_of_work import Origin, UnitsOfWork
from tooling.devstack import ensure_topics

from .harness import eventually, wait_until_assigned
from .harness import test_settings as settings_for

pytestmark = pytest.mark.integration


def a_region() -> str:
    """A region code no other test counts in, so a counter's value is this test's alone."""
    return f"9{random.randrange(10**5):05d}"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- lag and dead letters -----------------------------------------------------------------


async def test_lag_per_partition_and_dead_letters_per_topic_come_from_the_broker(infrastructure, unique_name):
    prefix = f"{unique_name}."
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)
    topic, group = topic_for("enrollment", prefix), f"{prefix}shebao.documents"
    partition = await produce(infrastructure.bootstrap_servers, topic, count=5, key=b"one-person")
    await produce(infrastructure.bootstrap_servers, dlq_topic(topic), count=2, key=b"someone")
    await commit(infrastructure.bootstrap_servers, group, TopicPartition(topic, partition), offset=2)
    settings = settings_for(infrastructure, f"{unique_name}_doc", prefix)
    probe = BrokerProbe(settings, "documents", group, [topic])

    try:
        await probe.refresh()
    finally:
        await probe.close()

    lags = {p: value("shebao_consumer_lag_records", service="documents", group=group, topic=topic, partition=str(p))
            for p in range(3)}
    assert lags == {p: (3.0 if p == partition else 0.0) for p in range(3)}
    assert value("shebao_dlq_records", service="documents", topic=dlq_topic(topic)) == 2.0


async def produce(bootstrap: str, topic: str, *, count: int, key: bytes) -> int:
    """``count`` records of one key, each its own batch; returns their partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for number in range(count):
            sent = await producer.send_and_wait(topic, value=f"record {number}".encode(), key=key)
        return sent.partition
    finally:
        await producer.stop()


async def commit(bootstrap: str, group: str, tp: TopicPartition, *, offset: int) -> None:
    """Commit ``offset`` for ``group`` as its only member would."""
    consumer = AIOKafkaConsumer(tp.topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                session_timeout_ms=6_000, heartbeat_interval_ms=1_000)
    await consumer.start()
    try:
        await eventually(_assigned(consumer), timeout_s=30, interval_s=0.1)
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


def _assigned(consumer: AIOKafkaConsumer):
    async def check() -> bool:
        await consumer.getmany(timeout_ms=100, max_records=1)
        return bool(consumer.assignment())

    return check


# --- business figures -----------------------------------------------------------------------


def a_bill(region: str, total: str) -> PremiumDue:
    return PremiumDue(
        bill_id=uuid.uuid4(), person_id=uuid.uuid4(), region=region, months=["2026-12"],
        lines=[{"programme": "pension", "month": "2026-12", "base": "7162.00", "rate": "0.20", "amount": total}],
        total=total, due_date=date(2026, 12, 15),
    )


async def test_bills_are_counted_once_their_transaction_commits_and_never_when_it_rolls_back(
        infrastructure, unique_name):
    region = a_region()
    await apply_migrations(infrastructure.database_url, unique_name, None)
    pool = await create_pool(infrastructure.database_url, unique_name)
    units = UnitsOfWork(pool, Outbox(f"{unique_name}."))
    try:
        async with units.begin(Origin(region=region)) as uow:
            uow.emit(a_bill(region, "1432.40"), subject="bill-1")
            assert value("shebao_bills_issued_total", region=region) == 0  # written, not yet committed
        with pytest.raises(RuntimeError):
            async with units.begin(Origin(region=region)) as uow:
                uow.emit(a_bill(region, "999.00"), subject="bill-2")
                raise RuntimeError("the change fails after its event was emitted")
    finally:
        await pool.close()

    assert value("shebao_bills_issued_total", region=region) == 1
    assert Decimal(str(value("shebao_bills_issued_cny_total", region=region))) == Decimal("1432.4")


async def test_events_a_handler_emits_are_counted_after_the_consumer_commits(infrastructure, unique_name):
    region = a_region()
    prefix = f"{unique_name}."
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)

    async def bill_on_withdrawal(uow, event: ApplicationWithdrawn) -> None:
        uow.emit(a_bill(region, "584.92"), subject=event.application_id)

    consumer = await start(infrastructure, prefix, f"{unique_name}_bil", "billing",
                           handlers={ApplicationWithdrawn: bill_on_withdrawal})
    producer = await start(infrastructure, prefix, f"{unique_name}_enr", "enrollment")
    try:
        async with producer.units.begin(Origin(region=region)) as uow:
            uow.emit(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=uuid.uuid4()), subject="a")

        async def counted() -> float:
            return value("shebao_bills_issued_total", region=region)

        assert await eventually(counted) == 1
        assert value("shebao_bills_issued_cny_total", region=region) == pytest.approx(584.92)
    finally:
        await producer.stop()
        await consumer.stop()


# --- the endpoint -----------------------------------------------------------------------------


async def test_the_endpoint_shows_requests_by_route_template_readiness_lag_and_jobs_with_the_region(
        infrastructure, unique_name):
    prefix, region = f"{unique_name}.", a_region()
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)
    router = APIRouter()

    @router.get("/test/items/{item_id}")
    async def item(item_id: int) -> dict:
        if item_id == 500:
            raise RuntimeError("an unexpected failure")
        return {"item_id": item_id}

    async def tick(runtime) -> None:
        pass

    async def fail(runtime) -> None:
        raise RuntimeError("the job failed")

    name = f"svc{unique_name}"  # a service label no other test uses
    jobs = [PeriodicJob("tick", timedelta(seconds=0.05), tick), PeriodicJob("fail", timedelta(seconds=0.05), fail)]
    runtime = await start(infrastructure, prefix, f"{unique_name}_doc", "documents", router=router, jobs=jobs,
                          handlers={ApplicationWithdrawn: ignore_withdrawal},
                          label=name, region=region)
    app = build_http_app(runtime.definition, runtime.settings, runtime=runtime)
    try:
        await eventually(lambda: _job_ran(name, "fail"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://test") as client:
            for path in ("/test/items/1", "/test/items/2", "/test/items/500", "/no/such/route"):
                await client.get(path)
            exposed = (await client.get("/metrics")).text
    finally:
        await runtime.stop()

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(exposed) for s in family.samples}
    mine = {key: v for key, v in samples.items() if ("service", name) in key[1]}
    assert all(("region", region) in labels for _, labels in mine)

    def sample(metric: str, **labels: str) -> float | None:
        return mine.get((metric, tuple(sorted({"service": name, "region": region, **labels}.items()))))

    route = "/test/items/{item_id}"
    assert sample("shebao_http_request_duration_seconds_count", method="GET", route=route, status="200") == 2
    assert sample("shebao_http_request_duration_seconds_count", method="GET", route=route, status="500") == 1
    assert sample("shebao_http_request_duration_seconds_count", method="GET", route="unmatched", status="404") == 1
    assert sample("shebao_ready") == 1
    assert sample("shebao_dependency_up", dependency="broker") == 1
    assert sample("shebao_outbox_pending") == 0
    group, topic = f"{prefix}shebao.{name}", topic_for("enrollment", prefix)
    assert {sample("shebao_consumer_lag_records", group=group, topic=topic, partition=str(p)) for p in range(3)} == {0}
    assert sample("shebao_dlq_records", topic=dlq_topic(topic)) == 0
    assert sample("shebao_job_runs_total", job="tick", outcome="succeeded") >= 1
    assert sample("shebao_job_runs_total", job="fail", outcome="failed") >= 1
    assert sample("shebao_job_last_success_timestamp_seconds", job="tick") > 0
    assert sample("shebao_job_last_success_timestamp_seconds", job="fail") is None


async def ignore_withdrawal(uow, event: ApplicationWithdrawn) -> None:
    pass


async def _job_ran(service: str, job: str) -> bool:
    return value("shebao_job_runs_total", service=service, job=job, outcome="failed") > 0


async def start(infrastructure, prefix: str, schema: str, name: str, *, handlers=None, router=None, jobs=(),
                label: str | None = None, **overrides) -> ServiceRuntime:
    """A runtime of service ``name`` (its topics; ``label`` names it in the metrics)."""
    settings = settings_for(infrastructure, schema, prefix, **overrides)
    await apply_migrations(settings.database_url, schema, None)
    definition = ServiceDefinition(name=label or name, migrations_dir=None, handlers=handlers or {}, router=router,
                                   jobs=jobs)
    runtime = ServiceRuntime(definition, settings)
    await runtime.start()
    if runtime.consumer is not None:
        await wait_until_assigned(runtime)
    return runtime


async def test_the_pool_wait_is_measured_for_a_connection_held_by_another_unit(infrastructure, unique_name):
    """With one connection, the second acquire waits for the first to come back: the histogram of
    the service's units pool shows both acquires and about the 0.3 s the second one waited."""
    def wait(name: str) -> float:
        return value(f"shebao_db_pool_wait_seconds_{name}", service=unique_name, pool="units")

    pool = await create_pool(infrastructure.database_url, unique_name, max_size=1)
    held = asyncio.Event()

    async def hold_the_only_connection() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SELECT 1")
            held.set()
            await asyncio.sleep(0.3)

    try:
        count_before, sum_before = wait("count"), wait("sum")
        holder = asyncio.create_task(hold_the_only_connection())
        await held.wait()
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 2") == 2
        await holder
    finally:
        await pool.close()

    assert wait("count") - count_before == 2
    assert wait("sum") - sum_before >= 0.25
    assert value("shebao_db_pool_wait_seconds_count", service=unique_name, pool="readers") == 0
