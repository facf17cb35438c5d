"""``shebao dlq list|redrive``: dead letters with their errors, and sending them back once fixed.

A dead letter is the failed record unchanged (value, key, original headers) plus ``dlq_*``
headers written by ``shared.consumer.EventConsumer.dead_letter``. Redrive publishes the
original record again to its topic and commits its progress in the consumer group
``<prefix>shebao.dlq-redrive`` on the dead-letter topic, so a second redrive sends only what
was dead-lettered since. Every consumer group of the original topic gets the record again;
those that had applied it already skip it through their inbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.events.topics import SERVICES, TYPE_HEADER, dlq_topic, topic_for
from shared.kafka import new_producer
from shared.settings import Settings
from tooling.ops.kafka import admin_client, committed_offsets, end_offsets, offsets_reader, partitions_of, sole_member

DLQ_SUFFIX = ".dlq"
DLQ_HEADER_PREFIX = "dlq_"


def redrive_group(prefix: str) -> str:
    """The consumer group that remembers how far each dead-letter topic was redriven."""
    return f"{prefix}shebao.dlq-redrive"


def resolve_topics(name: str, prefix: str) -> tuple[str, str]:
    """(original topic, dead-letter topic) for a service name, a topic or its ``.dlq``.

    ``billing``, ``shebao.billing.v1`` and ``shebao.billing.v1.dlq`` all name the same pair;
    the deployment's prefix is added when missing.
    """
    if name in SERVICES:
        base = topic_for(name, prefix)
    else:
        base = name.removesuffix(DLQ_SUFFIX)
        if prefix and not base.startswith(prefix):
            base = prefix + base
    return base, dlq_topic(base)


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, as an operator reads it."""

    partition: int
    offset: int
    key: str | None
    event_type: str | None
    error: str | None
    attempts: str | None
    failed_at: str | None
    consumer_group: str | None
    original: str | None  # topic:partition:offset it was consumed from
    redriven: bool

    @classmethod
    def of(cls, record: ConsumerRecord, redriven: bool) -> DeadLetter:
        headers = _headers(record)
        original = None
        if "dlq_original_topic" in headers:
            original = ":".join(headers.get(f"dlq_original_{part}", "?") for part in ("topic", "partition", "offset"))
        return cls(
            partition=record.partition, offset=record.offset, key=_text(record.key),
            event_type=headers.get(TYPE_HEADER), error=headers.get("dlq_error"),
            attempts=headers.get("dlq_attempts"), failed_at=headers.get("dlq_failed_at"),
            consumer_group=headers.get("dlq_consumer_group"), original=original, redriven=redriven,
        )


Progress = Callable[[int, int], None]
"""``on_progress(done, total)``: how many records of how many are handled so far."""


def _no_progress(done: int, total: int) -> None:
    return None


async def list_dead_letters(
    settings: Settings, name: str, *, on_progress: Progress = _no_progress
) -> tuple[str, list[DeadLetter]]:
    """The dead-letter topic's name and every record on it, oldest first per partition.

    An unknown topic is an ``OpsError`` (and is not created)."""
    _, dlq = resolve_topics(name, settings.topic_prefix)
    async with admin_client(settings) as admin:
        partitions = await partitions_of(admin, [dlq])
        redriven_to = await committed_offsets(admin, redrive_group(settings.topic_prefix), partitions)
    async with offsets_reader(settings) as reader:
        records = await read_all(reader, partitions, on_progress=on_progress)
    letters = [DeadLetter.of(r, r.offset < redriven_to[TopicPartition(r.topic, r.partition)]) for r in records]
    return dlq, letters


async def read_all(
    reader: AIOKafkaConsumer, partitions: list[TopicPartition], *, on_progress: Progress = _no_progress
) -> list[ConsumerRecord]:
    """Every record of ``partitions`` from the earliest offset to the end as of now."""
    ends = await end_offsets(reader, partitions)
    reader.assign(partitions)
    await reader.seek_to_beginning(*partitions)
    starts = {tp: await reader.position(tp) for tp in partitions}
    total = sum(max(ends[tp] - starts[tp], 0) for tp in partitions)
    on_progress(0, total)
    records: list[ConsumerRecord] = []
    pending = {tp for tp, end in ends.items() if starts[tp] < end}
    while pending:
        batch = await reader.getmany(*pending, timeout_ms=500)
        for tp, partition_records in batch.items():
            records += [r for r in partition_records if r.offset < ends[tp]]
        on_progress(len(records), total)
        pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
    return sorted(records, key=lambda r: (r.partition, r.offset))


@dataclass(frozen=True)
class Redriven:
    dlq: str
    topic: str
    count: int


async def redrive(settings: Settings, name: str, *, on_progress: Progress = _no_progress) -> Redriven:
    """Publish every dead letter not redriven before back to its original topic, once.

    The progress is committed after each fetched batch is acknowledged by the broker, so a
    redrive cut short sends at most that batch again (consumers skip it through their inbox).
    """
    base, dlq = resolve_topics(name, settings.topic_prefix)
    group = redrive_group(settings.topic_prefix)
    async with admin_client(settings) as admin:
        partitions = await partitions_of(admin, [dlq])
        await partitions_of(admin, [base])
    async with offsets_reader(settings) as reader:
        ends = await end_offsets(reader, partitions)
    count = 0
    producer = new_producer(settings)
    await producer.start()
    try:
        async with sole_member(settings, group, [dlq]) as consumer:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            total = sum(ends[tp] - positions[tp] for tp in partitions)
            on_progress(0, total)
            pending = {tp for tp in partitions if positions[tp] < ends[tp]}
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=500)
                for tp, records in batch.items():
                    records = [r for r in records if r.offset < ends[tp]]
                    if records:
                        await _republish(producer, base, records)
                        await consumer.commit({tp: records[-1].offset + 1})
                        count += len(records)
                        on_progress(count, total)
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await producer.stop()
    return Redriven(dlq=dlq, topic=base, count=count)


async def _republish(producer: AIOKafkaProducer, base: str, records: list[ConsumerRecord]) -> None:
    deliveries = []
    for record in records:
        headers = [(k, v) for k, v in record.headers or () if not k.startswith(DLQ_HEADER_PREFIX)]
        topic = _headers(record).get("dlq_original_topic", base)
        deliveries.append(await producer.send(topic, value=record.value, key=record.key, headers=headers))
    for delivery in deliveries:
        await delivery


def format_dead_letters(dlq: str, letters: list[DeadLetter]) -> str:
    if not letters:
        return f"{dlq}: no dead letters"
    waiting = sum(not letter.redriven for letter in letters)
    lines = [f"{dlq}: {len(letters)} dead letter(s), {waiting} not redriven"]
    for d in letters:
        state = "redriven" if d.redriven else "waiting"
        lines.append(
            f"  {d.partition}:{d.offset}  {state}  key={d.key}  type={d.event_type or '-'}"
            f"  attempts={d.attempts or '-'}"
            f"  failed_at={d.failed_at or '-'}  from={d.original or '-'}  group={d.consumer_group or '-'}"
        )
        lines.append(f"      error: {d.error or '-'}")
    return "\n".join(lines)


def dead_letters_as_json(dlq: str, letters: list[DeadLetter]) -> dict:
    return {"topic": dlq, "dead_letters": [asdict(letter) for letter in letters]}


def redriven_as_json(result: Redriven) -> dict:
    return asdict(result)


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {key: _text(value) for key, value in record.headers or ()}


def _text(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", errors="replace")

