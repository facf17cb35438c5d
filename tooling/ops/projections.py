"""``shebao rebuild-projection``: drop a service's projections and rebuild them by replay.

A projection is a table a service keeps only as its local copy of other services' events
(DESIGN.md §1); it can be thrown away and rebuilt from the topics. Source-of-truth tables
(applications, bills, payments, ...) are never touched. ``PROJECTIONS`` declares, per
service, the projection tables and the feeding event types: *every* event type whose
handler writes those tables. Their inbox rows are deleted so that the replay applies them
again, while every other event replayed is a duplicate for the inbox and changes nothing.
A feeding event's handler may do more than project only if that more is idempotent per
event (notifications records a notice once per causing event and template, so re-applying
an event adds no notice and emits nothing).

Rebuilding, with the service stopped:
0. check that no process of the service is connected to its schema (else refuse);
1. join the service's consumer group ``<prefix>shebao.<service>`` as its only member,
   subscribed to the topics carrying those event types (refused if the service runs);
2. in one transaction of the service's schema: delete every row of each projection table
   (a table that does not exist is skipped with a warning) and the inbox rows of those
   event types;
3. commit the earliest offset of those topics for the group.
When the service starts it consumes the topics from the beginning and refills the tables.
The topics must still hold every event since the beginning (topic retention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from shared.db import check_schema_name
from shared.events import EVENT_TYPES, topic_for
from shared.settings import Settings
from tooling.ops import OpsError
from tooling.ops.kafka import end_offsets, offsets_reader, sole_member
from tooling.ops.services import ensure_stopped, ops_connection


@dataclass(frozen=True)
class Projection:
    """A service's projection tables and the event types that feed only them."""

    tables: tuple[str, ...]
    events: tuple[str, ...]


PROJECTIONS: dict[str, Projection] = {
    # the regional policies (offered programmes, base ranges, frequencies), one row per version
    "enrollment": Projection(tables=("policies",), events=("PolicyPublished",)),
    # the contact directory, the enrolments and the open bills the notices are written from;
    # preferences (set by the person) and notifications/deliveries are the service's own
    "notifications": Projection(
        tables=("contacts", "enrolments", "bills", "bill_payments"),
        events=(
            "ApplicationSubmitted",
            "EnrollmentActivated", "EnrollmentChanged", "EnrollmentSuspended", "EnrollmentReinstated",
            "EnrollmentTerminated",
            "PremiumDue", "PremiumPaid",
        ),
    ),
    # documents: dossiers are opened from ApplicationSubmitted but hold uploads and reviews;
    # billing: its enrolments carry billing progress and person_accounts the credit. Neither
    # has a table that is only a copy of events, so neither has a projection to rebuild.
}
"""Projections by service name; a service missing here has none that can be rebuilt."""


@dataclass
class Rebuilt:
    service: str
    schema: str
    group: str
    rows_deleted: dict[str, int] = field(default_factory=dict)
    inbox_rows_deleted: int = 0
    rewound: dict[str, int] = field(default_factory=dict)  # topic -> records to consume again
    warnings: list[str] = field(default_factory=list)


def group_of(settings: Settings, service: str) -> str:
    """The consumer group of ``service`` (as ``shared.runtime.ServiceRuntime.group_id``)."""
    return f"{settings.topic_prefix}shebao.{service}"


def projection_of(service: str) -> Projection:
    """The declared projection of ``service``; ``OpsError`` when it has none."""
    projection = PROJECTIONS.get(service)
    if projection is None or not projection.tables:
        raise OpsError(f"service {service} declares no projection tables (tooling/ops/projections.py PROJECTIONS)")
    unknown = set(projection.events) - set(EVENT_TYPES)
    if unknown:
        raise OpsError(f"PROJECTIONS[{service!r}] names unknown event types: {', '.join(sorted(unknown))}")
    return projection


async def rebuild_projection(settings: Settings, service: str, schema: str | None = None) -> Rebuilt:
    """Empty ``service``'s projections and rewind its group so that they are rebuilt (see module)."""
    projection = projection_of(service)
    schema = check_schema_name(schema or service)
    result = Rebuilt(service, schema, group_of(settings, service))
    topics = sorted({topic_for(EVENT_TYPES[name].source_service, settings.topic_prefix) for name in projection.events})
    await ensure_stopped(settings, service, schema)
    async with sole_member(settings, result.group, topics) as consumer:
        await _empty(settings, schema, projection, result)
        partitions = sorted(consumer.assignment())
        earliest = await consumer.beginning_offsets(partitions)
        await consumer.commit(dict(earliest))
    async with offsets_reader(settings) as reader:
        ends = await end_offsets(reader, partitions)
    for tp in partitions:
        result.rewound[tp.topic] = result.rewound.get(tp.topic, 0) + ends[tp] - earliest[tp]
    return result


async def _empty(settings: Settings, schema: str, projection: Projection, result: Rebuilt) -> None:
    conn = await ops_connection(settings, schema)
    try:
        async with conn.transaction():
            for table in projection.tables:
                check_schema_name(table)
                if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.{table}") is None:
                    result.warnings.append(f"table {schema}.{table} does not exist; skipped")
                    continue
                status = await conn.execute(f'DELETE FROM "{schema}"."{table}"')
                result.rows_deleted[table] = int(status.split()[-1])
            status = await conn.execute("DELETE FROM inbox WHERE event_type = ANY($1::text[])", list(projection.events))
            result.inbox_rows_deleted = int(status.split()[-1])
    finally:
        await conn.close()


def plan_as_json(settings: Settings, service: str, schema: str | None = None) -> dict:
    """What ``rebuild_projection`` would do (``--dry-run``); ``OpsError`` when there is no projection."""
    projection = projection_of(service)
    return {"service": service, "schema": check_schema_name(schema or service), "tables": list(projection.tables),
            "events": list(projection.events), "group": group_of(settings, service), "dry_run": True}


def rebuilt_as_json(result: Rebuilt) -> dict:
    return asdict(result)


def format_rebuilt(result: Rebuilt) -> str:
    lines = [f"{result.service}: projections emptied in schema {result.schema}"]
    lines += [f"  {table}: {n} row(s) deleted" for table, n in result.rows_deleted.items()]
    lines.append(f"  inbox: {result.inbox_rows_deleted} row(s) of the feeding events deleted")
    lines += [f"  group {result.group} rewound on {topic}: {n} record(s) to consume"
              for topic, n in result.rewound.items()]
    lines.append("start the service: it rebuilds the projections from the beginning of the topics")
    return "\n".join(lines)

