"""An analyst's client that is not ours: confluent-kafka (librdkafka) in its own consumer group
reads every topic from the earliest offset, and every event on them — whichever journey made
it — keeps the contract of docs/events.md: the envelope's fields, the published JSON Schema
(shared/events/asyncapi.json), the key, and the ``ce_*`` headers.

Runs after the journeys in a full session (file order), so it checks the event types of all
of them; alone, it checks those of the resident journey it plays first. What it checks is every
event the services' outboxes sent; records another test wrote onto the topics on purpose
(malformed messages) are read past.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import confluent_kafka
import pytest
from confluent_kafka import Consumer
from jsonschema import Draft202012Validator, FormatChecker

from shared.events import EVENT_TYPES, SERVICES, topic_for
from shared.settings import SERVICE_NAMES
from tests.e2e.conftest import E2E_PREFIX
from tests.e2e.test_operations import wait_until_quiet
from tooling.journey import resident_journey

pytestmark = pytest.mark.e2e

ASYNCAPI = json.loads((Path(__file__).resolve().parents[2] / "shared/events/asyncapi.json").read_text())
JOURNEY_TYPES = {"PolicyPublished", "ApplicationSubmitted", "DocumentReceived", "DocumentsVerified",
                 "EnrollmentActivated", "PremiumDue", "PremiumPaid", "NotificationDelivered"}
# docs/events.md, "Subscribing": joining a group on the local broker takes about half the session
# timeout (librdkafka's default of 45 s: ~23 s); 6 s is the least Apache Kafka accepts by default.
ANALYST_CONFIG = {"auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000}


def test_a_librdkafka_consumer_in_its_own_group_reads_every_event_as_documented(platform, client):
    resident_journey(client, say=lambda _: None)
    wait_until_quiet(platform)
    sent = asyncio.run(sent_events(platform.database_url, E2E_PREFIX))

    records = read_from_earliest(platform.bootstrap_servers, [topic_for(s, E2E_PREFIX) for s in SERVICES],
                                 group=f"{E2E_PREFIX}analytics.{uuid.uuid4().hex[:8]}", until_seen=set(sent))

    assert librdkafka_version() >= (2, 2)  # the oldest librdkafka that reads from the local broker
    assert set(sent) <= set(records)
    assert JOURNEY_TYPES <= {sent_type for sent_type in sent.values()}
    # every event Shebao published; not the malformed records other tests put on the topics on purpose
    problems = [problem for event_id in sent for problem in contract_problems(*records[event_id])]
    assert problems == []


def read_from_earliest(bootstrap: str, topics: list[str], *, group: str, until_seen: set[str],
                       timeout_s: float = 90) -> dict[str, tuple]:
    """{event id: (topic, key, headers, value)} of every record read until ``until_seen`` are all in."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **ANALYST_CONFIG})
    consumer.subscribe(topics)
    records: dict[str, tuple] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while not until_seen <= set(records) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            headers = {name: value.decode() for name, value in message.headers() or []}
            records[headers.get("ce_id", f"no ce_id at {message.offset()}")] = (
                message.topic(), message.key().decode(), headers, message.value())
            consumer.commit(message, asynchronous=False)  # commit after processing, as documented
    finally:
        consumer.close()
    return records


def contract_problems(topic: str, key: str, headers: dict[str, str], value: bytes) -> list[str]:
    """What in one record breaks docs/events.md; empty when it keeps the contract."""
    event = json.loads(value)
    where = f"{topic} {event.get('type')} {event.get('id')}"
    problems = [f"{where}: {error.message}" for error in schema_errors("Envelope", event)]
    event_type, data = event.get("type"), event.get("data", {})
    service = topic.removeprefix(E2E_PREFIX).split(".")[1]
    expected = {
        "specversion": event.get("specversion") == "1.0",
        "type is a catalog event": event_type in EVENT_TYPES,
        "source is the topic's service": event.get("source") == service == _source_of(event_type),
        "id is a UUID": _is_uuid(event.get("id")),
        "subject is not empty": bool(event.get("subject")),
        "time is RFC 3339 in UTC": _is_utc(event.get("time")),
        "dataschema names type and version": event.get("dataschema") == f"urn:shebao:event:{event_type}:v1",
        "region is a region code": str(event.get("region", "")).isdigit() and len(event["region"]) == 6,
        "correlationid is a UUID": _is_uuid(event.get("correlationid")),
        "causationid is a UUID or null": event.get("causationid") is None or _is_uuid(event["causationid"]),
        "the key is the person (or region)": key == str(data.get("person_id") or data.get("region")),
        "header ce_type": headers.get("ce_type") == event_type,
        "header ce_id": headers.get("ce_id") == event.get("id"),
        "header ce_source": headers.get("ce_source") == event.get("source"),
    }
    problems += [f"{where}: {rule}" for rule, kept in expected.items() if not kept]
    problems += [f"{where}: data: {error.message}" for error in schema_errors(event_type, data)]
    return problems


def schema_errors(name: str, instance: dict) -> list:
    """Errors of ``instance`` against the published schema ``name`` (asyncapi.json components)."""
    if name not in ASYNCAPI["components"]["schemas"]:
        return [type("Unknown", (), {"message": f"no published schema for {name}"})()]
    schema = {**ASYNCAPI["components"]["schemas"][name], "components": ASYNCAPI["components"]}
    return list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(instance))


async def sent_events(database_url: str, prefix: str) -> dict[str, str]:
    """{event id: type} of every event the four services' outboxes sent to the deployment's topics."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = []
        for schema in SERVICE_NAMES:
            rows += await conn.fetch(f"SELECT event_id, event_type FROM {schema}.outbox "
                                     "WHERE status = 'sent' AND topic LIKE $1", f"{prefix}%")
        return {str(row["event_id"]): row["event_type"] for row in rows}
    finally:
        await conn.close()


def librdkafka_version() -> tuple[int, ...]:
    return tuple(int(part) for part in confluent_kafka.libversion()[0].split(".")[:2])


def _source_of(event_type) -> str | None:
    model = EVENT_TYPES.get(event_type)
    return model.source_service if model else None


def _is_uuid(text) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def _is_utc(text) -> bool:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return False
    return moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0


def test_the_contract_check_names_what_a_broken_record_breaks():
    from shared.events import ApplicationWithdrawn, make_envelope

    person = uuid.uuid4()
    envelope = make_envelope(ApplicationWithdrawn(application_id=uuid.uuid4(), person_id=person),
                             subject="a", region="110000")
    headers = {"ce_type": "ApplicationWithdrawn", "ce_id": str(envelope.id), "ce_source": "billing"}
    value = json.loads(envelope.to_json_bytes())
    value["region"] = "11"

    problems = contract_problems(topic_for("enrollment", E2E_PREFIX), "someone-else", headers,
                                 json.dumps(value).encode())

    assert {p.split(": ", 1)[1] for p in problems} >= {
        "header ce_source", "the key is the person (or region)", "region is a region code"}
    assert contract_problems(topic_for("enrollment", E2E_PREFIX), str(person), {**headers, "ce_source": "enrollment"},
                             envelope.to_json_bytes()) == []
