"""Throughput of the delivery pipeline, on the embedded PostgreSQL and Tansu broker.

(a) raw: aiokafka produce → consume → asyncpg insert of each consumed batch;
(b) shebao: outbox write → relay → broker → consumer with inbox dedup → effect row,
    with a batch handler (one executemany per run of events, like (a)) and with a
    per-event handler (one round trip per event).

Prints events/s for both and their ratio. Never fails on a time.
Usage: python bench/pipeline.py [--events 20000] [--durable]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.consumer import batch_handler  # noqa: E402
from shared.db import apply_migrations, connect  # noqa: E402
from shared.devstack import EmbeddedBroker, EmbeddedPostgres, ensure_topics  # noqa: E402
from shared.events import ApplicationWithdrawn, all_topics, make_envelope  # noqa: E402
from shared.runtime import ServiceDefinition, ServiceRuntime  # noqa: E402
from shared.settings import Settings  # noqa: E402

WRITE_BATCH = 100


def withdrawals(count: int) -> list:
    people = [uuid.uuid4() for _ in range(1000)]
    return [
        make_envelope(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=people[i % len(people)]),
                      subject=str(i), region="110000")
        for i in range(count)
    ]


async def raw_pipeline(database_url: str, bootstrap: str, events: list) -> float:
    topic = "bench.raw"
    await ensure_topics(bootstrap, [topic], 3)
    conn = await connect(database_url, "public")
    await conn.execute("DROP TABLE IF EXISTS raw_effects; CREATE TABLE raw_effects (event_id uuid, body bytea)")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1024 * 1024)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex}",
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500)
    await producer.start()
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=50)
    progress = tqdm(total=len(events), desc="(a) raw aiokafka + asyncpg", unit="ev")
    started = time.perf_counter()

    async def produce() -> None:
        for envelope in events:
            await producer.send(topic, envelope.to_json_bytes(), key=envelope.partition_key())
        await producer.flush()

    async def consume() -> None:
        stored = 0
        while stored < len(events):
            batches = await consumer.getmany(timeout_ms=200)
            records = [record for batch in batches.values() for record in batch]
            if records:
                async with conn.transaction():
                    await conn.executemany(
                        "INSERT INTO raw_effects (event_id, body) VALUES ($1, $2)",
                        [(uuid.uuid4(), record.value) for record in records],
                    )
                await consumer.commit()
                stored += len(records)
                progress.update(len(records))

    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - started
    progress.close()
    await consumer.stop()
    await producer.stop()
    await conn.close()
    return len(events) / elapsed


async def record_effect(ctx, event) -> None:
    await ctx.conn.execute("INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
                           ctx.envelope.id, event.person_id)


@batch_handler
async def record_effects(ctx, envelopes) -> None:
    await ctx.conn.executemany("INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
                               [(envelope.id, envelope.data.person_id) for envelope in envelopes])


async def shebao_pipeline(database_url: str, bootstrap: str, events: list, handler) -> float:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await ensure_topics(bootstrap, all_topics(prefix), 3)
    kind = "batch handler" if handler is record_effects else "per-event handler"
    progress = tqdm(total=len(events), desc=f"(b) outbox → relay → inbox, {kind}", unit="ev")

    producer = await _runtime(database_url, bootstrap, prefix, "enrollment", f"{prefix[:-1]}_enr", {})
    consumer = await _runtime(database_url, bootstrap, prefix, "documents", f"{prefix[:-1]}_doc",
                              {"ApplicationWithdrawn": handler}, setup="CREATE TABLE effects (event_id uuid, person_id uuid)")
    while not consumer.consumer.assigned_partitions():
        await asyncio.sleep(0.05)
    started = time.perf_counter()

    async def write() -> None:
        for start in range(0, len(events), WRITE_BATCH):
            async with producer.pool.acquire() as conn, conn.transaction():
                await producer.outbox.add_events(conn, events[start:start + WRITE_BATCH])

    async def wait_for_effects() -> None:
        done = 0
        while done < len(events):
            await asyncio.sleep(0.05)
            async with consumer.pool.acquire() as conn:
                count = await conn.fetchval("SELECT count(*) FROM effects")
            progress.update(count - done)
            done = count

    await asyncio.gather(write(), wait_for_effects())
    elapsed = time.perf_counter() - started
    progress.close()
    await consumer.stop()
    await producer.stop()
    return len(events) / elapsed


async def _runtime(database_url, bootstrap, prefix, name, schema, handlers, setup=None) -> ServiceRuntime:
    await apply_migrations(database_url, schema, None)
    if setup:
        conn = await connect(database_url, schema)
        await conn.execute(setup)
        await conn.close()
    settings = Settings(service=schema, topic_prefix=prefix, database_url=database_url,
                        kafka_bootstrap_servers=bootstrap, outbox_poll_interval_s=0.2, log_level="WARNING")
    runtime = ServiceRuntime(ServiceDefinition(name=name, migrations_dir=None, handlers=handlers), settings)
    await runtime.start()
    return runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--durable", action="store_true", help="fsync and synchronous_commit on (default: off)")
    args = parser.parse_args()
    from shared.logging import configure_logging

    configure_logging("bench", level="WARNING")
    root = Path(tempfile.mkdtemp(prefix="shebao-bench-"))
    postgres = EmbeddedPostgres(root / "postgres", durable=args.durable)
    broker = EmbeddedBroker()
    postgres.start(root / "postgres.log")
    broker.start(root / "broker.log")
    try:
        postgres.create_database("bench")
        url = postgres.url("bench")
        events = withdrawals(args.events)
        raw = asyncio.run(raw_pipeline(url, broker.bootstrap_servers, events))
        per_event = asyncio.run(shebao_pipeline(url, broker.bootstrap_servers, events, record_effect))
        batched = asyncio.run(shebao_pipeline(url, broker.bootstrap_servers, events, record_effects))
    finally:
        broker.stop()
        postgres.stop()
    print(f"\nevents: {args.events}   PostgreSQL durable: {args.durable}")
    print(f"(a) raw aiokafka produce→consume + asyncpg batch insert:        {raw:10.0f} events/s")
    print(f"(b) outbox → relay → broker → inbox → effect, batch handler:     {batched:10.0f} events/s"
          f"   ratio to (a): {batched / raw:.2f}")
    print(f"    the same with a per-event handler (one round trip per event): {per_event:10.0f} events/s"
          f"   ratio to (a): {per_event / raw:.2f}")


if __name__ == "__main__":
    main()
