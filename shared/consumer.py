"""The consuming side of delivery: inbox deduplication, retries and dead letters.

Each consumed record is applied in one database transaction that also records its
event id in the service's ``inbox``; a record seen before is acknowledged and does
nothing. A handler that raises is retried with backoff; after ``max_attempts`` the
record goes to ``<topic>.dlq`` with the error and the partition moves on. Offsets are
committed by FastStream only after the whole batch has been handled (and, on an
unexpected error, the batch is rewound and delivered again). Where a record was
dead-lettered is kept (``dead_lettered``), so that a batch delivered again never
dead-letters it twice nor applies it after all.

The events the handlers of a batch emit are written into the outbox once, at the end of the
batch's transaction (``DeferredOutbox``): its per-key locks are taken in one sorted order.

Tracing: each record applied is a ``process <topic>`` span, a child of the trace context in
its headers, around a ``handle <EventType>`` span for its handler; a batch handler's one span
links the records of its run. The business figures of what handlers emitted are counted once
the transaction has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind

from shared import metrics, tracing
from shared.business_metrics import count_committed
from shared.events import Envelope, InvalidEvent, decode_envelope
from shared.events.topics import TYPE_HEADER, dlq_topic
from shared.handlers import BoundHandler, handles_batches
from shared.logging import bind_event_context
from shared.outbox import DeferredOutbox, Outbox
from shared.unit_of_work import Origin, UnitOfWork

log = structlog.get_logger(__name__)


DATABASE_UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
)
DATABASE_RETRY_PAUSE_S = 1.0
DATABASE_PROBE_TIMEOUT_S = 2.0


class DatabaseUnavailable(RuntimeError):
    """Raised out of a batch so that FastStream rewinds it for redelivery."""


@dataclass
class ConsumerConfig:
    service: str
    group_id: str
    topics: Sequence[str]
    max_attempts: int = 5
    retry_backoff_s: float = 0.1
    batch_size: int = 500
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000


@dataclass
class EventConsumer:
    """Applies consumed records to the service's handlers, once each."""

    config: ConsumerConfig
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    outbox: Outbox
    handlers: dict[str, BoundHandler]
    subscriber: Any = None
    tracer: tracing.KernelTracer = field(default_factory=tracing.KernelTracer)

    def subscribe(self, broker: KafkaBroker) -> None:
        """Register one batch subscriber for all consumed topics on ``broker``."""

        async def consume_batch(records: Any) -> None:
            await self.process_records(records if isinstance(records, tuple) else (records,))

        self.subscriber = broker.subscriber(
            *self.config.topics,
            group_id=self.config.group_id,
            batch=True,
            max_records=self.config.batch_size,
            batch_timeout_ms=50,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            decoder=_raw_records,
        )
        self.subscriber(consume_batch)

    def assigned_partitions(self) -> set:
        """The partitions this member holds now (empty until the group has assigned them)."""
        consumer = self.member()
        return set(consumer.assignment()) if consumer is not None else set()

    def member(self) -> AIOKafkaConsumer | None:
        """The Kafka consumer of this group member (None until the subscriber has started)."""
        return getattr(self.subscriber, "consumer", None)

    async def process_records(self, records: Iterable[ConsumerRecord]) -> None:
        """Handle records in order; raises only when a record could neither be applied nor dead-lettered.

        The decodable records of a batch are first applied together in one transaction; if any
        handler fails, that transaction is rolled back and the records are applied one by one,
        each with its own retries, so one bad record costs only itself.
        """
        decoded = await self._decodable(list(records))
        if not decoded:
            return
        progress = _Progress()
        try:
            outcomes = await self._apply_together(decoded, progress)
        except Exception as error:
            log.info("batch transaction failed; applying one by one", error=f"{type(error).__name__}: {error}")
            outcomes = [
                # the record that broke the batch has used its first attempt already
                await self._apply_with_retries(record, envelope, first_attempt=2 if index == progress.index else 1)
                for index, (record, envelope) in enumerate(decoded)
            ]
        counted = Counter((envelope.type, outcome) for (_, envelope), outcome in zip(decoded, outcomes, strict=True))
        for (event_type, outcome), count in counted.items():
            metrics.EVENTS_CONSUMED.labels(self.config.service, event_type, outcome).inc(count)

    async def _decodable(self, records: list[ConsumerRecord]) -> list[tuple[ConsumerRecord, Envelope]]:
        """The records this service handles, with their envelopes; invalid ones are dead-lettered (once:
        those dead-lettered before, in a batch delivered again, are left out)."""
        if not records:
            return []
        # where this batch's records were dead-lettered before is looked up while they are decoded
        looking_up = asyncio.ensure_future(self._dead_lettered_before(records))
        await asyncio.sleep(0)  # the look-up's query goes out before the decoding holds the loop
        try:
            decodings = [self._decode(record) for record in records]
        except BaseException:
            looking_up.cancel()
            raise
        done_before = await looking_up
        decoded: list[tuple[ConsumerRecord, Envelope]] = []
        for record, decoding in zip(records, decodings, strict=True):
            if (record.topic, record.partition, record.offset) in done_before:
                log.info("record dead-lettered before; not again", topic=record.topic, partition=record.partition,
                         offset=record.offset)
            elif isinstance(decoding, InvalidEvent):
                await self.dead_letter(record, f"invalid event: {decoding.reason}", attempts=0)
                event_type = _header(record, TYPE_HEADER) or "?"
                metrics.EVENTS_CONSUMED.labels(self.config.service, event_type, "dead_lettered").inc()
            elif decoding is not None:
                decoded.append((record, decoding))
        return decoded

    async def _dead_lettered_before(self, records: list[ConsumerRecord]) -> set[tuple[str, int, int]]:
        """Where (topic, partition, offset) the records of ``records`` dead-lettered already are (a batch
        delivered again)."""
        spans = _offset_spans(records)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT d.topic, d.kafka_partition, d.kafka_offset FROM dead_lettered AS d
                   JOIN unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])
                        AS span (topic, kafka_partition, first, last)
                   ON d.topic = span.topic AND d.kafka_partition = span.kafka_partition
                   AND d.kafka_offset BETWEEN span.first AND span.last""",
                [topic for topic, _ in spans], [partition for _, partition in spans],
                [first for first, _ in spans.values()], [last for _, last in spans.values()],
            )
        return {(row["topic"], row["kafka_partition"], row["kafka_offset"]) for row in rows}

    def _decode(self, record: ConsumerRecord) -> Envelope | InvalidEvent | None:
        """The record's envelope if this service handles it (None if not), or why it is invalid."""
        event_type = _header(record, TYPE_HEADER)
        if event_type is not None and event_type not in self.handlers:
            metrics.EVENTS_CONSUMED.labels(self.config.service, event_type, "skipped").inc()
            return None
        try:
            envelope = decode_envelope(record.value)
        except InvalidEvent as invalid:
            return invalid
        if envelope.type not in self.handlers:
            metrics.EVENTS_CONSUMED.labels(self.config.service, envelope.type, "skipped").inc()
            return None
        return envelope

    async def _apply_together(self, decoded: list[tuple[ConsumerRecord, Envelope]], progress: _Progress) -> list[str]:
        outcomes = []
        to_apply: list[tuple[int, ConsumerRecord, Envelope]] = []
        written: list[Envelope] = []
        outbox = DeferredOutbox(self.outbox)
        async with self.pool.acquire() as conn, conn.transaction():
            new_ids = await _record_in_inbox(conn, decoded)
            for index, (record, envelope) in enumerate(decoded):
                if envelope.id in new_ids:
                    new_ids.discard(envelope.id)  # the same event twice in one batch applies once
                    to_apply.append((index, record, envelope))
                    outcomes.append("applied")
                else:
                    outcomes.append("duplicate")
            for progress.index, run in _runs(to_apply, self.handlers):
                written += await self._run_handler(conn, run, outbox)
            progress.index = -1
            await outbox.write(conn)
        count_committed(written)
        return outcomes

    async def _apply_with_retries(self, record: ConsumerRecord, envelope: Envelope, first_attempt: int = 1) -> str:
        reason = "failed inside its batch"
        attempt = first_attempt - 1
        for attempt in range(first_attempt, self.config.max_attempts + 1):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    outcome, written = await self._apply_in(conn, record, envelope)
                count_committed(written)
                return outcome
            except Exception as error:
                if isinstance(error, DATABASE_UNREACHABLE) and not await self._database_answers():
                    await self._wait_for_database(error)
                reason = f"{type(error).__name__}: {error}"
                with bind_event_context(event_id=str(envelope.id), correlation_id=str(envelope.correlationid)):
                    log.warning("handler failed", event_type=envelope.type, attempt=attempt, error=reason)
                if attempt < self.config.max_attempts:
                    await asyncio.sleep(self.config.retry_backoff_s * 2 ** (attempt - 1))
        with bind_event_context(event_id=str(envelope.id), correlation_id=str(envelope.correlationid)):
            log.error("handler failed for good; dead-lettering", event_type=envelope.type, attempts=attempt)
        await self.dead_letter(record, reason, attempts=max(attempt, 1))
        return "dead_lettered"

    async def _database_answers(self) -> bool:
        """Whether the database answers right now. An ``OSError`` or a timeout while it does was
        the handler's own (a file, a call elsewhere): an attempt like any other, dead-lettered after
        the last one, instead of a database outage retried for ever."""
        try:
            async with asyncio.timeout(DATABASE_PROBE_TIMEOUT_S), self.pool.acquire() as conn:
                return bool(await conn.fetchval("SELECT true"))
        except Exception:
            return False

    async def _wait_for_database(self, error: Exception) -> None:
        """The database, not the record, is at fault: no attempt is spent and nothing is
        dead-lettered. Wait, then fail the batch so that it is delivered again."""
        log.warning("database unreachable; the batch will be delivered again",
                    error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(DATABASE_RETRY_PAUSE_S)
        raise DatabaseUnavailable(str(error)) from error

    async def _apply_in(self, conn: asyncpg.Connection, record: ConsumerRecord, envelope: Envelope
                        ) -> tuple[str, list[Envelope]]:
        """Record the event in the inbox and run its handler, in ``conn``'s open transaction;
        returns the outcome and the events the handler wrote."""
        first_time = await conn.fetchval(
            "INSERT INTO inbox (event_id, event_type, topic, kafka_partition, kafka_offset) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING RETURNING true",
            envelope.id, envelope.type, record.topic, record.partition, record.offset,
        )
        if not first_time:
            return "duplicate", []
        return "applied", await self._run_handler(conn, [(record, envelope)], self.outbox)

    async def _run_handler(self, conn: asyncpg.Connection, run: list[tuple[ConsumerRecord, Envelope]],
                           outbox: Outbox | DeferredOutbox) -> list[Envelope]:
        """Apply a run of events of one type: one call for a batch handler, else one call each.
        Returns the events the handler calls wrote (to be counted once the transaction commits)."""
        started = time.perf_counter()
        event_type = run[0][1].type
        handler = self.handlers[event_type]
        written: list[Envelope] = []
        if handles_batches(handler):
            with self._batch_span(event_type, run):
                async with UnitOfWork.inside(conn, outbox) as unit:
                    await handler(unit, [envelope for _, envelope in run])
            written += unit.written
        else:
            for record, envelope in run:
                with self._event_spans(record, envelope), \
                        bind_event_context(event_id=str(envelope.id), correlation_id=str(envelope.correlationid)):
                    async with UnitOfWork.inside(conn, outbox, Origin.of_event(envelope)) as unit:
                        await handler(unit, envelope.data)
                written += unit.written
        elapsed = (time.perf_counter() - started) / len(run)
        metrics.observe_times(metrics.HANDLER_LATENCY.labels(self.config.service, event_type), elapsed, len(run))
        return written

    def _event_spans(self, record: ConsumerRecord, envelope: Envelope) -> AbstractContextManager:
        """``process <topic>`` (a child of the record's trace context) around ``handle <EventType>``.

        When nothing is recorded, the record's context made current is enough to carry the ids into
        the logs and the events emitted, and nothing more is paid for: this runs for every record.
        """
        parent = tracing.span_from_headers(record.headers)
        if not self.tracer.recording:
            return self.tracer.continued("process", parent, kind=SpanKind.CONSUMER)
        return self._recorded_event_spans(record, envelope, parent)

    @contextlib.contextmanager
    def _recorded_event_spans(self, record: ConsumerRecord, envelope: Envelope, parent) -> Iterator[None]:
        def attributes() -> dict:
            return {
                "messaging.system": "kafka", "messaging.operation.type": "process",
                "messaging.destination.name": record.topic, "messaging.consumer.group.name": self.config.group_id,
                "messaging.destination.partition.id": str(record.partition), "messaging.kafka.offset": record.offset,
                "messaging.message.id": str(envelope.id), "shebao.event_type": envelope.type,
            }

        with self.tracer.continued(f"process {record.topic}", parent, kind=SpanKind.CONSUMER, attributes=attributes):
            with self.tracer.span(f"handle {envelope.type}"):
                yield

    @contextlib.contextmanager
    def _batch_span(self, event_type: str, run: list[tuple[ConsumerRecord, Envelope]]) -> Iterator[None]:
        """One ``handle <EventType>`` span for a batch handler's run, linked to every record's context."""
        def attributes() -> dict:
            return {"messaging.system": "kafka", "messaging.batch.message_count": len(run),
                    "shebao.event_type": event_type}

        with self.tracer.span(f"handle {event_type}", kind=SpanKind.CONSUMER, attributes=attributes) as span:
            if span.is_recording():
                for parent in filter(None, (tracing.span_from_headers(record.headers) for record, _ in run)):
                    span.add_link(parent.get_span_context())
            yield

    async def dead_letter(self, record: ConsumerRecord, reason: str, *, attempts: int) -> None:
        """Send ``record`` unchanged to its topic's DLQ, with why and where it failed in headers.

        Once per record: where it was read is kept in the transaction that waits for the DLQ's
        acknowledgement, and a record kept there already is not sent again.
        """
        headers = list(record.headers or ()) + [
            ("dlq_error", reason[:2000].encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.config.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        async with self.pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                "INSERT INTO dead_lettered (topic, kafka_partition, kafka_offset, reason) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT DO NOTHING RETURNING true",
                record.topic, record.partition, record.offset, reason[:2000],
            )
            if not first_time:
                return
            await self.producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key,
                                              headers=headers)
        metrics.EVENTS_DEAD_LETTERED.labels(self.config.service).inc()


async def _raw_records(message: Any) -> Any:
    """The batch's Kafka records, as the handler's one argument.

    Records are decoded and validated by ``decode_envelope``: FastStream's JSON pass would be wasted.
    And a handler that asked for them by FastStream's message parameter (``KafkaMessage``) would
    have it resolved in a worker thread, a hop there and back for every batch.
    """
    return message.raw_message


def _runs(to_apply: list[tuple[int, ConsumerRecord, Envelope]], handlers: dict[str, BoundHandler]):
    """Yield (index of first event, its (record, event) pairs) for each handler call, keeping the
    batch's order.

    Consecutive events of a batch handler's type form one run; every other event is its own run.
    """
    position = 0
    while position < len(to_apply):
        first_index, _, first = to_apply[position]
        end = position + 1
        if handles_batches(handlers[first.type]):
            while end < len(to_apply) and to_apply[end][2].type == first.type:
                end += 1
        yield first_index, [(record, envelope) for _, record, envelope in to_apply[position:end]]
        position = end


def _offset_spans(records: list[ConsumerRecord]) -> dict[tuple[str, int], tuple[int, int]]:
    """The first and last offset of the batch in each partition: a few ranges to look up instead
    of every record (a batch holds hundreds of records of a few partitions)."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for record in records:
        first, last = spans.get((record.topic, record.partition), (record.offset, record.offset))
        spans[record.topic, record.partition] = (min(first, record.offset), max(last, record.offset))
    return spans


async def _record_in_inbox(conn: asyncpg.Connection, decoded: list[tuple[ConsumerRecord, Envelope]]) -> set:
    """Insert the batch's event ids into the inbox; returns the ids not seen before."""
    rows = await conn.fetch(
        """INSERT INTO inbox (event_id, event_type, topic, kafka_partition, kafka_offset)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[])
           ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
        [envelope.id for _, envelope in decoded],
        [envelope.type for _, envelope in decoded],
        [record.topic for record, _ in decoded],
        [record.partition for record, _ in decoded],
        [record.offset for record, _ in decoded],
    )
    return {row["event_id"] for row in rows}


@dataclass
class _Progress:
    index: int = -1


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode() if isinstance(value, bytes) else value
    return None
