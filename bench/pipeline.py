"""Throughput of the delivery pipeline, on the embedded PostgreSQL and Tansu broker.

(a) raw: aiokafka produce → consume → one asyncpg executemany per consumed batch;
(b) shebao: outbox write → relay → broker → consumer with inbox dedup → effect row,
    with a batch handler (one executemany per run of events, like (a)) and with a
    per-event handler (one round trip per event).

In every case the producing side runs in this process and the consuming side in a child
process, as two services would, and both sides of every kind on uvloop's event loop: uvicorn
gives it to every service (``run_service``), so the services' consumers and relays run on it.
The clock runs from the first write until the last effect row is written (its own timestamp,
by the server's clock). Prints events/s and the ratios. After each run its schemas are dropped and the
server checkpoints, so that no run pays for the vacuum and the writes of the ones before it.
With ``--repeat N`` the kinds run N times in turn (raw, batch, raw, batch, …), each ratio against
the raw run just before it, and the median ratio is printed with its range: on a shared machine
whose speed drifts from one minute to the next, one pair is not a figure.
Never fails on a time.
PostgreSQL runs with ``--shared-buffers`` (default 1GB), as a server sized for the outbox and
inbox of a million events would be; the development server has 128MB.
Usage: python bench/pipeline.py [--events 20000] [--durable] [--kinds raw,batch,per-event]
                                [--shared-buffers 1GB] [--repeat 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import spread  # noqa: E402
from shared.db import apply_migrations, connect  # noqa: E402
from shared.events import ApplicationWithdrawn, all_topics, make_envelope  # noqa: E402
from shared.handlers import batch_handler  # noqa: E402
from shared.runtime import ServiceDefinition, ServiceRuntime, tune_garbage_collection  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.unit_of_work import UnitOfWork  # noqa: E402
from tooling.devstack import EmbeddedBroker, EmbeddedPostgres, ensure_topics  # noqa: E402

WRITE_BATCH = 100
POLL_MIN_S = 0.1  # the progress poll's pause, at least
POLL_COST_FACTOR = 20  # ... and twenty times what its last count took
# ``at``: when each effect row was written, by the server's clock — the clock stops at the last one,
# however late the bench's poll sees it
EFFECTS_TABLE = ("CREATE TABLE effects (event_id uuid, person_id uuid, "
                 "at timestamptz NOT NULL DEFAULT clock_timestamp())")


def withdrawals(count: int) -> list:
    people = [uuid.uuid4() for _ in range(1000)]
    return [
        make_envelope(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=people[i % len(people)]),
                      subject=str(i), region="110000")
        for i in range(count)
    ]


async def record_effect(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    await uow.conn.execute("INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
                           uow.origin.causation_id, event.person_id)


@batch_handler
async def record_effects(uow: UnitOfWork, envelopes) -> None:
    await uow.conn.executemany("INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
                               [(envelope.id, envelope.data.person_id) for envelope in envelopes])


HANDLERS = {"per-event": record_effect, "batch": record_effects}
KINDS = ("raw", "batch", "per-event")


def run_on_uvloop(coroutine):
    """Run ``coroutine`` on the event loop the services run on (uvicorn picks uvloop when installed)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


# --- the consuming side, in a child process ------------------------------------------------

def consuming_side(kind: str, database_url: str, bootstrap: str, name: str, ready, stop) -> None:
    """Child process: consume until ``stop`` is set; ``ready`` once partitions are assigned."""
    tune_garbage_collection(Settings().gc_young_threshold)  # as every service process does
    runner = _consume_raw if kind == "raw" else _consume_shebao
    run_on_uvloop(runner(kind, database_url, bootstrap, name, ready, stop))


async def _consume_raw(kind, database_url, bootstrap, name, ready, stop) -> None:
    conn = await connect(database_url, name)
    consumer = AIOKafkaConsumer(name, bootstrap_servers=bootstrap, group_id=f"{name}-group",
                                enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500)
    await consumer.start()
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=50)
    ready.set()
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100)
        records = [record for batch in batches.values() for record in batch]
        if records:
            async with conn.transaction():
                await conn.executemany("INSERT INTO effects (event_id, person_id) VALUES ($1, $2)",
                                       [(uuid.uuid4(), uuid.uuid4()) for _ in records])
            await consumer.commit()
    await consumer.stop()
    await conn.close()


async def _consume_shebao(kind, database_url, bootstrap, name, ready, stop) -> None:
    runtime = await _runtime(database_url, bootstrap, f"{name}.", "documents", f"{name}_doc",
                             {ApplicationWithdrawn: HANDLERS[kind]})
    while not runtime.consumer.assigned_partitions():
        await asyncio.sleep(0.05)
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await runtime.stop()


# --- the producing side, here ---------------------------------------------------------------

async def produce_raw(database_url: str, bootstrap: str, name: str, events: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1024 * 1024)
    await producer.start()
    for envelope in events:
        await producer.send(name, envelope.to_json_bytes(), key=envelope.partition_key())
    await producer.flush()
    await producer.stop()


async def produce_shebao(runtime: ServiceRuntime, events: list) -> None:
    for start in range(0, len(events), WRITE_BATCH):
        async with runtime.pool.acquire() as conn, conn.transaction():
            await runtime.outbox.add_events(conn, events[start:start + WRITE_BATCH])


async def measure(kind: str, database_url: str, bootstrap: str, events: list) -> float:
    """Events per second of one pipeline, first write to last effect."""
    name = f"bench{uuid.uuid4().hex[:6]}"
    effects_schema = name if kind == "raw" else f"{name}_doc"
    await _prepare(kind, database_url, bootstrap, name, effects_schema)
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    child = context.Process(target=consuming_side, args=(kind, database_url, bootstrap, name, ready, stop))
    child.start()
    producer = None
    try:
        if not ready.wait(120):
            raise RuntimeError("the consuming side did not get its partitions")
        if kind != "raw":
            producer = await _runtime(database_url, bootstrap, f"{name}.", "enrollment", f"{name}_enr", {})
        progress = tqdm(total=len(events), desc=f"{kind:>9}", unit="ev")
        started = time.time()
        write = produce_raw(database_url, bootstrap, name, events) if producer is None \
            else produce_shebao(producer, events)
        _, last_effect_at = await asyncio.gather(
            write, _wait_for_effects(database_url, effects_schema, len(events), progress))
        elapsed = last_effect_at - started
        progress.close()
        return len(events) / elapsed
    finally:
        if producer is not None:
            await producer.stop()
        stop.set()
        child.join(30)
        await _clean_up(database_url, [name, f"{name}_enr", f"{name}_doc"])


async def _prepare(kind: str, database_url: str, bootstrap: str, name: str, effects_schema: str) -> None:
    if kind == "raw":
        await ensure_topics(bootstrap, [name], 3)
    else:
        await ensure_topics(bootstrap, all_topics(f"{name}."), 3)
    await apply_migrations(database_url, effects_schema, None)
    conn = await connect(database_url, effects_schema)
    await conn.execute(EFFECTS_TABLE)
    await conn.close()


async def _clean_up(database_url: str, schemas: list[str]) -> None:
    """Drop a run's schemas and checkpoint, so that the next run does not pay for this one: its dead
    rows vacuumed, its dirty pages written, while it is being measured."""
    conn = await asyncpg.connect(database_url)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _wait_for_effects(database_url: str, schema: str, total: int, progress: tqdm) -> float:
    """When the ``total``-th effect row was written (epoch seconds, the server's clock on this machine).

    The rows' own ``at`` times the end, not the poll, so the poll only needs to see that they are all
    there, and it must not load the server the pipeline shares: each count(*) reads the whole effects
    table, so the wait after one is twenty times what it took (at least 0.1 s). A count every 0.1 s
    cost a fifth of PostgreSQL's time at 100k events; at 1M rows a count takes about 50 ms, every
    0.1 s half a core by the end of the run."""
    conn = await connect(database_url, schema)
    done = 0
    pause = POLL_MIN_S
    while done < total:
        await asyncio.sleep(pause)
        started = time.perf_counter()
        count = await conn.fetchval("SELECT count(*) FROM effects")
        pause = max(POLL_MIN_S, POLL_COST_FACTOR * (time.perf_counter() - started))
        progress.update(count - done)
        done = count
    last = await conn.fetchval("SELECT extract(epoch FROM max(at))::float8 FROM effects")
    await conn.close()
    return last


async def _runtime(database_url, bootstrap, prefix, name, schema, handlers) -> ServiceRuntime:
    await apply_migrations(database_url, schema, None)
    settings = Settings(service=schema, topic_prefix=prefix, database_url=database_url,
                        kafka_bootstrap_servers=bootstrap, outbox_poll_interval_s=0.2, log_level="WARNING")
    runtime = ServiceRuntime(ServiceDefinition(name=name, migrations_dir=None, handlers=handlers), settings)
    await runtime.start()
    return runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--durable", action="store_true", help="fsync and synchronous_commit on (default: off)")
    parser.add_argument("--kinds", type=lambda text: text.split(","), default=list(KINDS),
                        help="which pipelines, of raw,batch,per-event (raw always runs first: the ratios' base)")
    parser.add_argument("--shared-buffers", default="1GB", help="PostgreSQL's shared_buffers (the dev server: 128MB)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every kind in turn; the median ratio and its range are printed")
    parser.add_argument("--json", type=Path, help="also write the figures of every round to this file")
    args = parser.parse_args()
    if set(args.kinds) - set(KINDS):
        parser.error(f"--kinds takes some of {','.join(KINDS)}")
    if args.repeat < 1:
        parser.error("--repeat takes 1 or more")
    args.kinds = ["raw", *[kind for kind in args.kinds if kind != "raw"]]
    from shared.logging import configure_logging

    configure_logging("bench", level="WARNING")
    root = Path(tempfile.mkdtemp(prefix="shebao-bench-"))
    postgres = EmbeddedPostgres(root / "postgres", durable=args.durable, shared_buffers=args.shared_buffers)
    broker = EmbeddedBroker()
    postgres.start(root / "postgres.log")
    broker.start(root / "broker.log")
    try:
        postgres.create_database("bench")
        url = postgres.local_url("bench")
        events = withdrawals(args.events)
        # as every service process does; it also takes the bench's own million envelopes out of the
        # collector's sight, or every full collection in the producing process walks them all
        tune_garbage_collection(Settings().gc_young_threshold)
        rounds = [{kind: run_on_uvloop(measure(kind, url, broker.bootstrap_servers, events)) for kind in args.kinds}
                  for _ in range(args.repeat)]
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)  # a million events leave gigabytes of data
    figures = summarize(rounds)
    print_figures(args, figures)
    if args.json is not None:
        args.json.write_text(json.dumps({"events": args.events, "durable": args.durable,
                                         "shared_buffers": args.shared_buffers, **figures}, indent=2))


LABELS = {"batch": "(b) outbox → relay → broker → inbox → effect, batch handler:      ",
          "per-event": "    the same with a per-event handler (one round trip per event):"}


def summarize(rounds: list[dict[str, float]]) -> dict:
    """Each round's events/s by kind, each kind's ratio to the raw run of its own round, and the
    medians with their range (``ratio`` and ``events_per_s``: median, min, max)."""
    kinds = list(rounds[0])
    ratios = {kind: [round_[kind] / round_["raw"] for round_ in rounds] for kind in kinds if kind != "raw"}
    return {
        "rounds": [{kind: round(rate) for kind, rate in round_.items()} for round_ in rounds],
        "events_per_s": {kind: spread([round_[kind] for round_ in rounds], 0) for kind in kinds},
        "ratio": {kind: spread(values, 2) for kind, values in ratios.items()},
        "ratios": {kind: [round(value, 2) for value in values] for kind, values in ratios.items()},
    }


def print_figures(args, figures: dict) -> None:
    print(f"\nevents: {args.events}   PostgreSQL durable: {args.durable}, shared_buffers {args.shared_buffers}   "
          "producer and consumer in two processes")
    several = len(figures["rounds"]) > 1
    for number, round_ in enumerate(figures["rounds"], 1):
        if several:
            print(f"round {number}:")
        print(f"(a) raw aiokafka produce→consume + asyncpg batch insert:          {round_['raw']:10.0f} events/s")
        for kind in figures["ratio"]:
            print(f"{LABELS[kind]} {round_[kind]:10.0f} events/s   ratio to (a): {round_[kind] / round_['raw']:.2f}")
    if several:
        for kind, ratio in figures["ratio"].items():
            print(f"{kind}: median ratio {ratio['median']:.2f} over {len(figures['rounds'])} rounds "
                  f"({', '.join(f'{value:.2f}' for value in figures['ratios'][kind])}; "
                  f"range {ratio['min']:.2f}–{ratio['max']:.2f})")


if __name__ == "__main__":
    main()
