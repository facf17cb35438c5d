"""Transactional outbox: events are written in the caller's transaction and published
afterwards by the relay, in order, so that nothing is lost and nothing is sent for a
change that was rolled back.

Per-key order: ``add_events`` takes a transaction-scoped advisory lock on every
partition key it writes, so two transactions writing events of the same person are
serialised and their rows' sequence numbers follow their commit order. The relay
publishes pending rows by sequence number. The locks of one write are taken by one
statement in one sorted order, and are the schema's own (two services writing about the
same person never wait for each other); a transaction of many units (the consumer's batch)
writes through a ``DeferredOutbox``, so it too takes its locks once, sorted, at its end —
two writers can never hold some keys each and wait for the other's.

Parking: a row the broker refuses for a reason of its own (too large, a topic it refuses) is
retried on later passes, and after ``max_refusals`` parked (status ``failed``, with its
error) so that the rest go on; later rows of its partition key wait behind it, keeping that
key's order, until an operator re-publishes it (``shebao outbox``). An outage of the broker
is not a refusal and parks nothing.

Tracing: each write is an ``outbox write`` span whose context is stored on its rows
(``traceparent``); the relay publishes each row in a ``publish <topic>`` span, a child of
that context, and puts its own context in the record's headers (``shared/tracing.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, ProducerClosed
from opentelemetry.trace import Span, SpanKind, StatusCode

from shared import metrics, tracing
from shared.db import connect
from shared.events import Envelope, topic_for
from shared.events.topics import TYPE_HEADER
from shared.kafka import PartitionBatches

log = structlog.get_logger(__name__)


# The keys' locks (sorted, this schema's key space) are all taken before the first row leaves the
# join — ``outbox_keys`` is one aggregate row, and a CTE of volatile calls is computed once, not
# inlined — so each row's sequence number (its column default) is drawn under its lock. With a
# ``gate`` (a CTE of the same statement), nothing is locked or written unless it has a row.
def events_ctes(first: int, gate: str | None = None) -> str:
    """The CTEs ``outbox_keys`` and ``outbox_rows`` writing the events whose six arrays
    (``Outbox.arrays``) are the statement's parameters ``$first`` … ``$first+5``."""
    ids, types, topics, keys, envelopes, traceparents = (f"${first + offset}" for offset in range(6))
    only_if = f"WHERE EXISTS (SELECT FROM {gate})" if gate else ""
    return f"""outbox_keys AS (
    SELECT count(pg_advisory_xact_lock(k)) AS keys
    FROM (SELECT DISTINCT hashtextextended(x, hashtext(current_schema())) AS k
          FROM unnest({keys}::text[]) AS x ORDER BY 1) AS sorted
    {only_if}),
outbox_rows AS (
    INSERT INTO outbox (event_id, event_type, topic, partition_key, envelope, traceparent)
    SELECT e.event_id, e.event_type, e.topic, e.partition_key, e.envelope, e.traceparent
    FROM outbox_keys, unnest({ids}::uuid[], {types}::text[], {topics}::text[], {keys}::text[], {envelopes}::bytea[],
                             {traceparents}::text[])
         WITH ORDINALITY AS e(event_id, event_type, topic, partition_key, envelope, traceparent, position)
    {only_if}
    ORDER BY e.position
    RETURNING 1)"""


# One round trip: the rows, and their keys' locks.
_LOCK_KEYS_AND_INSERT = f"WITH {events_ctes(1)}\nSELECT count(*) FROM outbox_rows"


def _pending_in_order(pending_from: str) -> str:
    """The next pending rows by sequence from ``pending_from`` (where the relay knows there are some,
    ``outbox_relay``), but for those waiting behind a parked row of their key; $1 is how many."""
    return (f"FROM outbox AS o WHERE seq >= {pending_from} AND status = 'pending' AND NOT EXISTS "
            "(SELECT 1 FROM outbox AS parked WHERE parked.parked AND parked.partition_key = o.partition_key) "
            "ORDER BY seq LIMIT $1")


_ROW = "seq, event_id, event_type, topic, partition_key, envelope, traceparent"
_PENDING_FROM = "(SELECT pending_from FROM outbox_relay)"

# The claim: the next pending rows marked sent, with what the relay learns of the statement's snapshot
# for its horizon (``PendingHorizon``): where it read from, the last sequence number drawn, the oldest
# transaction running and, when asked ($2), its own transaction's id. With no row claimed it still
# answers one row: the horizon's.
_CLAIM = f"""WITH horizon AS MATERIALIZED (
    SELECT pending_from,
           (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM outbox_seq_seq) AS last_seq,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS oldest_running,
           CASE WHEN $2 THEN pg_current_xact_id()::text::bigint END AS own_xid
    FROM outbox_relay),
claimed AS (
    UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL
    WHERE seq = ANY(ARRAY(SELECT seq {_pending_in_order("(SELECT pending_from FROM horizon)")}))
    RETURNING {_ROW})
SELECT h.pending_from, h.last_seq, h.oldest_running, h.own_xid, c.* FROM horizon AS h LEFT JOIN claimed AS c ON true"""

# Forward only from where the claim read: if ``shebao outbox republish`` moved it back since, it stays.
_MOVE_PENDING_FROM = "UPDATE outbox_relay SET pending_from = $2 WHERE pending_from = $1"


def pending_again_ctes(rows: str) -> str:
    """A CTE for a statement that makes rows pending again (the CTE ``rows``, returning their ``seq``):
    the relay's ``pending_from`` put back to the first of them, in the same transaction."""
    return (f"pending_from_lowered AS (UPDATE outbox_relay SET pending_from = least(pending_from, "
            f"(SELECT min(seq) FROM {rows})) WHERE EXISTS (SELECT FROM {rows}))")


@dataclass
class PendingHorizon:
    """How far the outbox's sequence is settled: every row numbered up to ``settled`` is committed or
    rolled back, none still to come.

    A number the relay read is settled once an id of a transaction the relay began after that read is
    older than every transaction running: each writer had its id before it drew its number (the
    column's default, migration 007), so all of them have ended. One number waits for such an id at a
    time, the newest read waits to be next; all three come from the claims' own snapshots.
    """

    settled: int = 0
    waiting: tuple[int, int] | None = None  # (a number, an id of a transaction begun after it was read)
    next_seq: int | None = None  # the newest number read, waiting for an id

    def wants_own_xid(self) -> bool:
        return self.next_seq is not None and self.waiting is None

    def observe(self, last_seq: int, oldest_running: int, own_xid: int | None) -> None:
        if self.waiting is not None and self.waiting[1] < oldest_running:
            self.settled = max(self.settled, self.waiting[0])
            self.waiting = None
        if own_xid is not None and self.next_seq is not None and self.waiting is None:
            self.waiting, self.next_seq = (self.next_seq, own_xid), None
        if last_seq > max(self.settled, self.waiting[0] if self.waiting else 0):
            self.next_seq = last_seq


@dataclass(frozen=True)
class Outbox:
    """Writes envelopes into the service's ``outbox`` table, topic chosen by the event's source."""

    topic_prefix: str = ""
    tracer: tracing.KernelTracer = field(default_factory=tracing.KernelTracer, compare=False)

    async def add_events(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
        """Add ``envelopes`` to the outbox inside the caller's open transaction.

        One ``outbox write`` span (a child of the current one: the request, job or handler); its
        context is stored on the rows for the relay to continue the trace from.
        """
        if not envelopes:
            return
        if not conn.is_in_transaction():
            raise RuntimeError("outbox writes must happen inside the transaction of the change")

        def attributes() -> dict:
            return {"messaging.batch.message_count": len(envelopes),
                    "shebao.event_types": sorted({envelope.type for envelope in envelopes})}

        with self.tracer.span("outbox write", attributes=attributes) as span:
            await self.insert(conn, envelopes, [tracing.traceparent_of(span)] * len(envelopes))

    async def insert(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope],
                     traceparents: Sequence[str | None]) -> None:
        """Lock the envelopes' partition keys (sorted, in this schema's key space) and insert the rows."""
        await conn.execute(_LOCK_KEYS_AND_INSERT, *self.arrays(envelopes, traceparents))

    def arrays(self, envelopes: Sequence[Envelope], traceparents: Sequence[str | None]) -> list[list]:
        """The six arrays ``events_ctes`` takes: ids, types, topics, partition keys, the envelopes'
        bytes and their trace contexts."""
        return [
            [envelope.id for envelope in envelopes],
            [envelope.type for envelope in envelopes],
            [topic_for(envelope.source, self.topic_prefix) for envelope in envelopes],
            [envelope.partition_key().decode() for envelope in envelopes],
            [envelope.to_json_bytes() for envelope in envelopes],
            list(traceparents),
        ]

    async def add(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        """Add one envelope (see ``add_events``)."""
        await self.add_events(conn, [envelope])


class DeferredOutbox:
    """The outbox of a transaction shared by many units of work (the consumer's batch).

    Each unit's events are kept with the trace context of their ``outbox write`` span, and
    ``write`` inserts them all at the end of the transaction, in the order they were emitted:
    the transaction takes its per-key locks once, sorted, instead of one unit at a time in
    the order of its events — the cause of deadlocks beside a job writing the same people.
    """

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._envelopes: list[Envelope] = []
        self._traceparents: list[str | None] = []

    async def add_events(self, conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
        if not envelopes:
            return
        with self.outbox.tracer.span("outbox write") as span:
            self._envelopes += envelopes
            self._traceparents += [tracing.traceparent_of(span)] * len(envelopes)

    async def write(self, conn: asyncpg.Connection) -> None:
        """Insert everything added so far, inside ``conn``'s open transaction."""
        if self._envelopes:
            await self.outbox.insert(conn, self._envelopes, self._traceparents)
        self._envelopes, self._traceparents = [], []


@dataclass
class RelayConfig:
    service: str
    database_url: str
    schema: str
    batch_size: int = 500
    poll_interval_s: float = 1.0
    linger_s: float = 0.0  # after a wake-up, wait this long for the rows of other commits to come
    retention: timedelta = timedelta(days=7)
    # retention is days: a purge a minute is plenty ("every 60 passes" was every second or two at a
    # busy relay's pace, each reading the newest, unsummarised part of the sent_at index)
    purge_interval_s: float = 60.0
    # the outbox's gauges, read again by every scrape too; counting a backlog reads all of it
    lag_metrics_interval_s: float = 5.0
    backoff_max_s: float = 5.0
    publish_timeout_s: float = 15.0
    max_refusals: int = 5


class OutboxRelay:
    """Publishes pending outbox rows in sequence order and marks them sent.

    Woken by LISTEN/NOTIFY on ``<schema>_outbox``, polling as the fallback. One relay per
    schema is active at a time (a session advisory lock); others stand by. When the broker
    or the database is unreachable it retries with backoff: rows stay pending until the
    broker has acknowledged them.
    """

    def __init__(self, config: RelayConfig, pool: asyncpg.Pool, producer: AIOKafkaProducer,
                 tracer: tracing.KernelTracer | None = None) -> None:
        self.config = config
        self.pool = pool
        self.producer = producer
        self.tracer = tracer or tracing.KernelTracer()
        self._wake = asyncio.Event()
        self._stopping = False
        self.is_leader = False
        self.horizon = PendingHorizon()
        self._one_pass_at_a_time = asyncio.Lock()  # the horizon pairs numbers with ids of later passes

    async def run(self) -> None:
        """Run until cancelled or ``stop()`` is called."""
        failures = 0
        while not self._stopping:
            try:
                await self._run_as_leader()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the relay must outlive any outage
                failures += 1
                metrics.RELAY_FAILURES.labels(self.config.service).inc()
                log.warning("outbox relay interrupted", error=str(error), failures=failures)
                self.is_leader = False
                await asyncio.sleep(self._backoff(failures))

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def flush(self) -> int:
        """Publish everything pending now (used at shutdown); returns how many were sent."""
        total = 0
        while sent := await self.publish_pending():
            total += sent
        return total

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns the number published.

        The rows are marked sent by the statement that reads them, in a transaction that commits
        only once the broker has acknowledged them all (one pass over the outbox instead of a read
        and a second look-up to mark them): a failed or interrupted send rolls the marks back.
        When the batch fails for a reason of the broker's (unreachable, timing out) the rows stay
        pending and the error is raised, for the caller to retry. When it fails otherwise, the rows
        are sent one by one: the ones at fault are refused (and parked after ``max_refusals``).
        """
        async with self._one_pass_at_a_time:
            return await self._publish_pending()

    async def _publish_pending(self) -> int:
        rows: list[asyncpg.Record] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                rows, pending_from = await self._claim_pending(conn)
                if rows:
                    await asyncio.wait_for(self._send(rows), self.config.publish_timeout_s)
                await self._move_pending_from(conn, pending_from, rows)
        except Exception as error:
            if not rows:
                raise  # the database's, before anything was sent
            if broker_unavailable(error):
                await self._record_failure(rows, error)
                raise
            return await self._publish_one_by_one(await self._pending_rows())
        metrics.EVENTS_PUBLISHED.labels(self.config.service).inc(len(rows))
        return len(rows)

    async def _claim_pending(self, conn: asyncpg.Connection) -> tuple[list[asyncpg.Record], int]:
        """The next pending rows by sequence (but for those waiting behind a parked row of their key),
        marked sent inside ``conn``'s open transaction, and the ``pending_from`` they were read from;
        the horizon learns what the claim's snapshot saw."""
        answer = await conn.fetch(_CLAIM, self.config.batch_size, self.horizon.wants_own_xid())
        first = answer[0]
        self.horizon.observe(first["last_seq"], first["oldest_running"], first["own_xid"])
        rows = [row for row in answer if row["seq"] is not None]
        return sorted(rows, key=lambda row: row["seq"]), first["pending_from"]

    async def _move_pending_from(self, conn: asyncpg.Connection, pending_from: int,
                                 claimed: Sequence[asyncpg.Record]) -> None:
        """Move ``pending_from`` up to the settled horizon, in the claim's transaction: every row up to
        there is final, and the claim, which saw them all, marked those still pending — unless it
        stopped at a full batch, after whose last row more may wait."""
        moved_to = self.horizon.settled + 1
        if len(claimed) == self.config.batch_size:
            moved_to = min(moved_to, claimed[-1]["seq"] + 1)
        if moved_to > pending_from:
            await conn.execute(_MOVE_PENDING_FROM, pending_from, moved_to)

    async def _pending_rows(self) -> list[asyncpg.Record]:
        """The next pending rows by sequence, but for those waiting behind a parked row of their key."""
        async with self.pool.acquire() as conn:
            return await conn.fetch(
                f"SELECT {_ROW} {_pending_in_order(_PENDING_FROM)}",
                self.config.batch_size,
            )

    async def _publish_one_by_one(self, rows: Sequence[asyncpg.Record]) -> int:
        """Send each row alone, in order; a refused row holds back the later rows of its key."""
        sent: list[asyncpg.Record] = []
        held_keys: set[str] = set()
        try:
            for row in rows:
                if row["partition_key"] in held_keys:
                    continue
                try:
                    await asyncio.wait_for(self._send([row]), self.config.publish_timeout_s)
                except Exception as error:
                    if broker_unavailable(error):
                        await self._record_failure([row], error)
                        raise
                    held_keys.add(row["partition_key"])
                    await self._refuse(row, error)
                    continue
                sent.append(row)
        finally:
            if sent:
                await self._mark_sent(sent)
        return len(sent)

    async def _mark_sent(self, rows: Sequence[asyncpg.Record]) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL "
                "WHERE seq = ANY($1::bigint[])",
                [row["seq"] for row in rows],
            )
        metrics.EVENTS_PUBLISHED.labels(self.config.service).inc(len(rows))

    async def _refuse(self, row: asyncpg.Record, error: Exception) -> None:
        """Count a refusal of ``row``; at the last one it is parked."""
        reason = f"{type(error).__name__}: {error}"[:500]
        async with self.pool.acquire() as conn:
            status = await conn.fetchval(
                "UPDATE outbox SET attempts = attempts + 1, refusals = refusals + 1, last_error = $2, "
                "status = CASE WHEN refusals + 1 >= $3 THEN 'failed' ELSE status END "
                "WHERE seq = $1 RETURNING status",
                row["seq"], reason, self.config.max_refusals,
            )
        metrics.RELAY_FAILURES.labels(self.config.service).inc()
        if status == "failed":
            metrics.OUTBOX_PARKED.labels(self.config.service).inc()
            log.error("outbox row parked: the broker refuses it", seq=row["seq"], event_type=row["event_type"],
                      topic=row["topic"], error=reason, refusals=self.config.max_refusals)
        else:
            log.warning("outbox row refused; will retry", seq=row["seq"], event_type=row["event_type"],
                        error=reason)

    async def purge_sent(self) -> int:
        """Delete sent rows older than the retention window; returns how many."""
        async with self.pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM outbox WHERE status = 'sent' AND sent_at < now() - $1::interval",
                self.config.retention,
            )
        return int(status.split()[-1])

    async def update_lag_metrics(self) -> None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at)) AS age "
                f"FROM outbox WHERE seq >= {_PENDING_FROM} AND status = 'pending'"
            )
            parked = await conn.fetchval("SELECT count(*) FROM outbox WHERE parked")
        metrics.OUTBOX_PENDING.labels(self.config.service).set(row["pending"])
        metrics.OUTBOX_OLDEST_PENDING_AGE.labels(self.config.service).set(float(row["age"] or 0))
        metrics.OUTBOX_PARKED.labels(self.config.service).set(parked)

    async def _run_as_leader(self) -> None:
        listener = await connect(self.config.database_url, self.config.schema)
        try:
            await self._wait_for_leadership(listener)
            self.horizon = PendingHorizon()
            await listener.add_listener(f"{self.config.schema}_outbox", self._on_notify)
            log.info("outbox relay active")
            await self._publish_loop(listener)
        finally:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await asyncio.shield(listener.close(timeout=2))

    async def _wait_for_leadership(self, listener: asyncpg.Connection) -> None:
        lock_key = f"shebao.outbox-relay.{self.config.schema}"
        while not await listener.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
            if self._stopping:
                return
            await asyncio.sleep(self.config.poll_interval_s * 5)
        self.is_leader = True

    async def _publish_loop(self, listener: asyncpg.Connection) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        next_purge = next_lag_metrics = loop.time()
        while not self._stopping:
            if listener.is_closed():
                raise ConnectionError("outbox listener connection closed")
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                failures = 0
            except Exception as error:  # broker unreachable: keep the rows, wait, try again
                failures += 1
                metrics.RELAY_FAILURES.labels(self.config.service).inc()
                log.warning("outbox publish failed; will retry", error=f"{type(error).__name__}: {error}",
                            failures=failures)
                await asyncio.sleep(self._backoff(failures))
                continue
            if loop.time() >= next_lag_metrics:
                next_lag_metrics = loop.time() + self.config.lag_metrics_interval_s
                await self.update_lag_metrics()
            if loop.time() >= next_purge:
                next_purge = loop.time() + self.config.purge_interval_s
                await self.purge_sent()
            if sent < self.config.batch_size:
                await self._wait_for_rows()

    async def _wait_for_rows(self) -> None:
        """Until a commit wakes the relay (or the poll interval passes); then, lingering a moment,
        the rows of the commits close behind it go in the same pass."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.config.poll_interval_s)
        if self._wake.is_set() and self.config.linger_s > 0 and not self._stopping:
            await asyncio.sleep(self.config.linger_s)

    def _on_notify(self, *_args) -> None:
        self._wake.set()

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        """Send ``rows``, one record batch per partition, and wait for the broker's acknowledgements;
        one ``publish`` span per row when spans are recorded."""
        batches = PartitionBatches(self.producer)
        spans: list[Span] = []
        try:
            for row in rows:
                headers = [
                    (TYPE_HEADER, row["event_type"].encode()),
                    ("ce_id", str(row["event_id"]).encode()),
                    ("ce_source", self.config.service.encode()),
                ]
                if self.tracer.recording:
                    spans.append(span := self._publish_span(row))
                    tracing.inject_into_headers(headers, span)
                else:
                    headers.append((tracing.TRACEPARENT, tracing.carried_traceparent(row["traceparent"])))
                await batches.append(row["topic"], row["partition_key"].encode(), bytes(row["envelope"]), headers)
            await batches.send_all()
        except BaseException as error:
            for span in spans:
                span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
            raise
        finally:
            for span in spans:
                span.end()

    def _publish_span(self, row: asyncpg.Record) -> Span:
        def attributes() -> dict:
            return {"messaging.system": "kafka", "messaging.operation.type": "send",
                    "messaging.destination.name": row["topic"], "messaging.message.id": str(row["event_id"]),
                    "shebao.event_type": row["event_type"]}

        return self.tracer.start_continued(f"publish {row['topic']}", tracing.span_from_traceparent(row["traceparent"]),
                                           kind=SpanKind.PRODUCER, attributes=attributes)

    async def _record_failure(self, rows: Sequence[asyncpg.Record], error: Exception) -> None:
        with contextlib.suppress(Exception):
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])",
                    [row["seq"] for row in rows], f"{type(error).__name__}: {error}"[:500],
                )

    def _backoff(self, failures: int) -> float:
        return min(self.config.backoff_max_s, 0.1 * 2 ** min(failures, 10))


def broker_unavailable(error: BaseException) -> bool:
    """Whether a failed send is the broker's (unreachable, timing out, a transient state): the
    rows wait for it. Otherwise the broker or the client refused what was sent (too large, a
    topic it refuses): a refusal of those rows."""
    if isinstance(error, asyncio.TimeoutError | OSError | KafkaTimeoutError | ProducerClosed):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))
