"""``shebao outbox``: what a service's outbox holds (``status``: pending, parked rows with their
errors), and ``republish``: re-emit events it already sent, or put parked rows back in line.

A row is parked (status ``failed``) after the broker refused it ``outbox_max_refusals`` times
for a reason of its own (too large, a topic it refuses); later rows of its partition key wait
behind it. Once the cause is fixed, ``republish --parked`` sets it pending again, refusals
reset, and the relay sends it before the rows that waited.

``republish`` of sent rows: re-emit events a service already sent, from its outbox retention.

The rows are set back to ``pending``; the service's own outbox relay publishes them again,
in sequence order, with the same key and headers as the first time. So it works the same
whether the service runs (the relay is woken at once) or is stopped (they go out when it
starts), and there is never a second publisher racing the relay. Consumers that applied an
event already skip it through their inbox. Sent rows are kept ``outbox_retention_days``;
older ones are gone and cannot be re-emitted this way (replay the topic instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from shared.db import check_schema_name
from shared.outbox import pending_again_ctes
from shared.settings import Settings
from tooling.ops import OpsError
from tooling.ops.services import ops_connection


@dataclass(frozen=True)
class Republished:
    schema: str
    by_topic: dict[str, int]
    dry_run: bool

    @property
    def count(self) -> int:
        return sum(self.by_topic.values())


@dataclass(frozen=True)
class ParkedRow:
    seq: int
    event_id: str
    event_type: str
    topic: str
    partition_key: str
    created_at: datetime
    refusals: int
    error: str


@dataclass(frozen=True)
class OutboxStatus:
    schema: str
    pending: int
    oldest_pending_s: float
    held_behind_parked: int
    parked: list[ParkedRow] = field(default_factory=list)


async def status(settings: Settings, schema: str, *, limit: int = 100) -> OutboxStatus:
    """What ``schema``'s outbox holds now: pending rows, the parked ones with their errors, and
    how many pending rows wait behind a parked row of their key."""
    conn = await _outbox_connection(settings, schema)
    try:
        counts = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                      coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'pending')), 0)
                          AS oldest,
                      count(*) FILTER (WHERE status = 'pending' AND partition_key IN (
                          SELECT partition_key FROM outbox WHERE status = 'failed')) AS held
               FROM outbox WHERE status <> 'sent'"""
        )
        rows = await conn.fetch(
            "SELECT seq, event_id, event_type, topic, partition_key, created_at, refusals, last_error FROM outbox "
            "WHERE status = 'failed' ORDER BY seq LIMIT $1", limit,
        )
    finally:
        await conn.close()
    parked = [ParkedRow(row["seq"], str(row["event_id"]), row["event_type"], row["topic"], row["partition_key"],
                        row["created_at"], row["refusals"], row["last_error"] or "") for row in rows]
    return OutboxStatus(schema, counts["pending"], float(counts["oldest"]), counts["held"], parked)


async def republish_parked(settings: Settings, schema: str, *, dry_run: bool = False) -> Republished:
    """Put the parked rows of ``schema`` back in line: pending again, refusals reset."""
    conn = await _outbox_connection(settings, schema)
    try:
        if dry_run:
            rows = await conn.fetch("SELECT topic, count(*) AS n FROM outbox WHERE status = 'failed' GROUP BY topic")
        else:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"""WITH again AS (
                            UPDATE outbox SET status = 'pending', refusals = 0 WHERE parked RETURNING seq, topic),
                        {pending_again_ctes("again")}
                        SELECT topic, count(*) AS n FROM again GROUP BY topic""")
                await _wake_relay(conn, schema)
    finally:
        await conn.close()
    return Republished(schema, {row["topic"]: row["n"] for row in sorted(rows, key=lambda r: r["topic"])}, dry_run)


def status_as_json(service: str, result: OutboxStatus) -> dict:
    return {
        "service": service, "schema": result.schema, "pending": result.pending,
        "oldest_pending_seconds": round(result.oldest_pending_s, 3), "held_behind_parked": result.held_behind_parked,
        "parked": [{"seq": row.seq, "event_id": row.event_id, "event_type": row.event_type, "topic": row.topic,
                    "partition_key": row.partition_key, "created_at": row.created_at.isoformat(),
                    "refusals": row.refusals, "error": row.error} for row in result.parked],
    }


def format_status(service: str, result: OutboxStatus) -> str:
    lines = [f"{service} ({result.schema}.outbox): {result.pending} pending "
             f"(oldest {result.oldest_pending_s:.1f} s), {len(result.parked)} parked"]
    if result.held_behind_parked:
        lines.append(f"  {result.held_behind_parked} pending row(s) wait behind a parked row of their key")
    for row in result.parked:
        lines.append(f"  seq {row.seq} {row.event_type} → {row.topic} (key {row.partition_key}), "
                     f"refused {row.refusals}×: {row.error}")
    if result.parked:
        lines.append(f"fix the cause, then: shebao outbox republish {service} --parked")
    return "\n".join(lines)


async def _outbox_connection(settings: Settings, schema: str) -> asyncpg.Connection:
    check_schema_name(schema)
    conn = await ops_connection(settings, schema)
    if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.outbox") is None:
        await conn.close()
        raise OpsError(f"schema {schema} has no outbox table: is the service migrated, or is it another --schema?")
    return conn


async def _wake_relay(conn: asyncpg.Connection, schema: str) -> None:
    # the NOTIFY trigger fires on INSERT only; wake a running relay now rather than at its next poll
    await conn.execute("SELECT pg_notify($1, '')", f"{schema}_outbox")


_SELECTION = "status = 'sent' AND sent_at >= $1 AND ($2::timestamptz IS NULL OR sent_at < $2) " \
             "AND ($3::text[] IS NULL OR event_type = ANY($3))"


async def republish(
    settings: Settings,
    schema: str,
    since: datetime,
    *,
    until: datetime | None = None,
    event_types: list[str] | None = None,
    dry_run: bool = False,
) -> Republished:
    """Mark the outbox rows of ``schema`` sent in [since, until) (of ``event_types``) pending again."""
    conn = await _outbox_connection(settings, schema)
    try:
        arguments = (since, until, event_types or None)
        if dry_run:
            rows = await conn.fetch(
                f"SELECT topic, count(*) AS n FROM outbox WHERE {_SELECTION} GROUP BY topic", *arguments
            )
        else:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"""WITH again AS (
                            UPDATE outbox SET status = 'pending', last_error = NULL WHERE {_SELECTION}
                            RETURNING seq, topic),
                        {pending_again_ctes("again")}
                        SELECT topic, count(*) AS n FROM again GROUP BY topic""",
                    *arguments,
                )
                await _wake_relay(conn, schema)
    finally:
        await conn.close()
    return Republished(schema, {row["topic"]: row["n"] for row in sorted(rows, key=lambda r: r["topic"])}, dry_run)


def republished_as_json(service: str, result: Republished) -> dict:
    return {"service": service, "schema": result.schema, "dry_run": result.dry_run, "count": result.count,
            "by_topic": result.by_topic}


def format_republished(service: str, result: Republished, *, parked: bool = False) -> str:
    verb = "would re-emit" if result.dry_run else "re-emitting"
    if not result.count and parked:
        return f"{service}: no parked rows in {result.schema}.outbox"
    if not result.count:
        return f"{service}: no sent events in that window of the outbox ({result.schema}.outbox)"
    lines = [f"{service}: {verb} {result.count} event(s) from {result.schema}.outbox"]
    lines += [f"  {topic}: {n}" for topic, n in result.by_topic.items()]
    if not result.dry_run:
        lines.append("the service's outbox relay publishes them in order (when the service runs)")
    return "\n".join(lines)
