"""``shebao outbox republish``: re-emit events a service already sent, from its outbox retention.

The rows are set back to ``pending``; the service's own outbox relay publishes them again,
in sequence order, with the same key and headers as the first time. So it works the same
whether the service runs (the relay is woken at once) or is stopped (they go out when it
starts), and there is never a second publisher racing the relay. Consumers that applied an
event already skip it through their inbox. Sent rows are kept ``outbox_retention_days``;
older ones are gone and cannot be re-emitted this way (replay the topic instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.db import check_schema_name
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
    check_schema_name(schema)
    conn = await ops_connection(settings, schema)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.outbox") is None:
            raise OpsError(f"schema {schema} has no outbox table: is the service migrated, or is it another --schema?")
        arguments = (since, until, event_types or None)
        if dry_run:
            rows = await conn.fetch(
                f"SELECT topic, count(*) AS n FROM outbox WHERE {_SELECTION} GROUP BY topic", *arguments
            )
        else:
            async with conn.transaction():
                rows = await conn.fetch(
                    f"""WITH again AS (
                            UPDATE outbox SET status = 'pending', last_error = NULL WHERE {_SELECTION} RETURNING topic)
                        SELECT topic, count(*) AS n FROM again GROUP BY topic""",
                    *arguments,
                )
                # the NOTIFY trigger fires on INSERT only; wake a running relay now rather than at its next poll
                await conn.execute("SELECT pg_notify($1, '')", f"{schema}_outbox")
    finally:
        await conn.close()
    return Republished(schema, {row["topic"]: row["n"] for row in sorted(rows, key=lambda r: r["topic"])}, dry_run)


def republished_as_json(service: str, result: Republished) -> dict:
    return {"service": service, "schema": result.schema, "dry_run": result.dry_run, "count": result.count,
            "by_topic": result.by_topic}


def format_republished(service: str, result: Republished) -> str:
    verb = "would re-emit" if result.dry_run else "re-emitting"
    if not result.count:
        return f"{service}: no sent events in that window of the outbox ({result.schema}.outbox)"
    lines = [f"{service}: {verb} {result.count} event(s) from {result.schema}.outbox"]
    lines += [f"  {topic}: {n}" for topic, n in result.by_topic.items()]
    if not result.dry_run:
        lines.append("the service's outbox relay publishes them in order (when the service runs)")
    return "\n".join(lines)
