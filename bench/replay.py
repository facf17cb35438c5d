"""Replay at scale: rebuilding a projection from N events (default 1,000,000), beside the raw
consume rate, on the embedded PostgreSQL (fsync off) and Tansu.

The events are what notifications' projection is fed by (``tooling/ops/projections.py``): per
person an ``ApplicationSubmitted`` and two ``EnrollmentActivated`` on the enrollment topic, a
``PremiumDue`` and a ``PremiumPaid`` on the billing topic, produced as the outbox relays would.

1. **raw consume**: an aiokafka consumer in no group reads every record (no decoding, no database);
2. **first application**: the notifications service (its real handlers, in this process, without
   its delivery jobs) consumes them all: projection rows, notices and their outbox events;
3. **rebuild**: with the service stopped, ``shebao rebuild-projection notifications`` empties the
   projection tables and the feeding events' inbox rows and rewinds the group (timed apart);
4. **replay**: the service started again consumes everything from the beginning and refills the
   projection (the notices exist already, so none is added) until every event is in its inbox.

Prints events/s of 1, 2 and 4 and the ratio of 4 to 1, and checks that the rebuilt projection has
the rows it had. Never fails on a time.
Usage: python bench/replay.py [--events 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.notifications.app import SERVICE as NOTIFICATIONS  # noqa: E402
from services.notifications.settings import NotificationsSettings  # noqa: E402
from shared.db import apply_migrations, connect  # noqa: E402
from shared.events import (  # noqa: E402
    ApplicationSubmitted,
    Contact,
    EnrollmentActivated,
    PremiumDue,
    PremiumPaid,
    all_topics,
    make_envelope,
    topic_for,
)
from shared.events.catalog import AppliedPayment, BillLine  # noqa: E402
from shared.runtime import ServiceRuntime  # noqa: E402
from shared.settings import get_settings  # noqa: E402
from tooling.cli import main as shebao  # noqa: E402
from tooling.devstack import EmbeddedBroker, EmbeddedPostgres, ensure_topics  # noqa: E402
from tooling.ops.projections import PROJECTIONS  # noqa: E402

PREFIX = "bench."
EVENTS_PER_PERSON = 5
FAST_GROUPS = {"SHEBAO_KAFKA_SESSION_TIMEOUT_MS": "6000", "SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}


def person_events(n: int) -> list:
    """The five events of one person, as the services would have emitted them."""
    person, application, bill = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = Decimal("7162.00")
    events = [make_envelope(ApplicationSubmitted(
        application_id=application, person_id=person, region="110000", programmes=("pension", "medical_employee"),
        declared_base=base, frequency="monthly", contact=Contact(phone=f"139{n:08d}"[-11:], language="en")),
        subject=str(application), region="110000")]
    events += [make_envelope(EnrollmentActivated(
        enrollment_id=uuid.uuid4(), person_id=person, application_id=application, region="110000",
        programme=programme, base=base, frequency="monthly", start_month="2026-12"), subject=str(n), region="110000")
        for programme in ("pension", "medical_employee")]
    lines = (BillLine(programme="pension", month="2026-12", base=base, rate=Decimal("0.2"), amount=Decimal("1432.40")),
             BillLine(programme="medical_employee", month="2026-12", amount=Decimal("584.92")))
    events.append(make_envelope(PremiumDue(bill_id=bill, person_id=person, region="110000", months=("2026-12",),
                                           lines=lines, total=Decimal("2017.32"), due_date=date(2026, 12, 15)),
                                subject=str(bill), region="110000"))
    events.append(make_envelope(PremiumPaid(
        payment_id=uuid.uuid4(), person_id=person, amount=Decimal("2017.32"), channel="bank", channel_txn_id=f"T{n}",
        paid_at="2026-12-10T02:00:00Z", voucher_no=f"110000-2026-{n:08d}",
        applied=(AppliedPayment(bill_id=bill, principal=Decimal("2017.32"), late_fee=Decimal("0.00")),),
        credit_balance=Decimal("0.00")), subject=str(n), region="110000"))
    return events


async def produce(bootstrap: str, count: int) -> None:
    """``count`` events (a multiple of five) on the enrollment and billing topics, with the relay's headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1024 * 1024, acks=1)
    await producer.start()
    try:
        with tqdm(total=count, desc="producing", unit="event", file=sys.stderr) as bar:
            pending = []
            for n in range(count // EVENTS_PER_PERSON):
                for envelope in person_events(n):
                    headers = [("ce_type", envelope.type.encode()), ("ce_id", str(envelope.id).encode()),
                               ("ce_source", envelope.source.encode())]
                    pending.append(await producer.send(topic_for(envelope.source, PREFIX), envelope.to_json_bytes(),
                                                       key=envelope.partition_key(), headers=headers))
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    bar.update(len(pending))
                    pending = []
            await asyncio.gather(*pending)
            bar.update(len(pending))
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, count: int) -> float:
    """Seconds to fetch every record of the two topics (no group, no decoding)."""
    consumer = AIOKafkaConsumer(topic_for("enrollment", PREFIX), topic_for("billing", PREFIX),
                                bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=None, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def consume_with_service(settings, count: int, desc: str) -> float:
    """Seconds from starting the notifications service until ``count`` events are in its inbox."""
    definition = dataclasses.replace(NOTIFICATIONS, jobs=())  # no deliveries: the projection is what is timed
    runtime = ServiceRuntime(definition, settings)
    started = time.perf_counter()
    await runtime.start()
    conn = await connect(settings.database_url, "notifications")
    try:
        with tqdm(total=count, desc=desc, unit="event", file=sys.stderr) as bar:
            while (done := await conn.fetchval("SELECT count(*) FROM inbox")) < count:
                bar.n = done
                bar.refresh()
                await asyncio.sleep(0.5)
        return time.perf_counter() - started
    finally:
        await conn.close()
        await runtime.stop()


async def projection_rows(database_url: str) -> dict[str, int]:
    conn = await connect(database_url, "notifications")
    try:
        return {table: await conn.fetchval(f"SELECT count(*) FROM {table}")
                for table in PROJECTIONS["notifications"].tables}
    finally:
        await conn.close()


def rebuild(settings) -> float:
    """Seconds ``shebao rebuild-projection notifications`` takes (it joins the group as its only member)."""
    started = time.perf_counter()
    code = shebao(["rebuild-projection", "notifications", "--json", "--bootstrap-servers",
                   settings.kafka_bootstrap_servers, "--database-url", settings.database_url,
                   "--topic-prefix", PREFIX])
    if code != 0:
        raise SystemExit(f"rebuild-projection failed with exit code {code}")
    return time.perf_counter() - started


async def bench(count: int, root: Path) -> None:
    postgres = EmbeddedPostgres(root / "postgres", durable=False)
    broker = EmbeddedBroker()
    postgres.start(root / "postgres.log")
    broker.start(root / "broker.log")
    try:
        postgres.create_database("shebao")
        url = postgres.local_url("shebao")
        await ensure_topics(broker.bootstrap_servers, all_topics(PREFIX), 3)
        await apply_migrations(url, "notifications", NOTIFICATIONS.migrations_dir)
        settings = NotificationsSettings(service="notifications", database_url=url, topic_prefix=PREFIX,
                                         kafka_bootstrap_servers=broker.bootstrap_servers,
                                         notifications_sink_dir=str(root / "sinks"),
                                         kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=1000)
        await produce(broker.bootstrap_servers, count)
        raw = await raw_consume(broker.bootstrap_servers, count)
        first = await consume_with_service(settings, count, "first application")
        before = await projection_rows(url)
        rebuild_s = await asyncio.to_thread(rebuild, settings)
        replay = await consume_with_service(settings, count, "replay into the rebuilt projection")
        after = await projection_rows(url)
    finally:
        broker.stop()
        postgres.stop()
    print(f"\n{count:,} events (notifications' projection: {', '.join(f'{t} {n:,}' for t, n in before.items())})")
    print(f"  raw consume (aiokafka, no group, no decoding)   {count / raw:>10,.0f} events/s  ({raw:.1f} s)")
    print(f"  first application (handlers, notices, outbox)    {count / first:>10,.0f} events/s  ({first:.1f} s)")
    print(f"  shebao rebuild-projection notifications           {rebuild_s:>10.1f} s")
    print(f"  replay into the rebuilt projection               {count / replay:>10,.0f} events/s  ({replay:.1f} s)")
    print(f"  replay / raw consume                             {raw / replay:>10.2f}")
    print(f"  projection rebuilt as it was: {after == before}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to replay (a multiple of 5)")
    args = parser.parse_args()
    os.environ.update(FAST_GROUPS)  # the CLI's group member (rebuild) joins as fast as the service's
    get_settings.cache_clear()
    with tempfile.TemporaryDirectory(prefix="shebao-bench-replay-") as root:
        asyncio.run(bench(args.events - args.events % EVENTS_PER_PERSON, Path(root)))


if __name__ == "__main__":
    main()
