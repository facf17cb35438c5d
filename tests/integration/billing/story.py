"""Helpers that speak billing's trade, for the integration tests: enrol a person, run the
jobs, pay, and read what the service told the world (its outbox)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from services.billing.handlers import HANDLERS
from shared.events import EnrollmentActivated, EventPayload, decode_envelope, make_envelope, topic_for
from shared.events.topics import TYPE_HEADER
from shared.handlers import bind_handlers
from shared.unit_of_work import Origin
from tests.integration.harness import eventually

BEIJING, SHANGHAI = "110000", "310000"


@dataclass
class Person:
    person_id: uuid.UUID
    region: str
    enrolments: dict[str, uuid.UUID] = field(default_factory=dict)


def activations(person: Person, programmes, *, base: str, frequency: str, start: str) -> list:
    envelopes = []
    for programme in programmes:
        enrollment_id = uuid.uuid4()
        person.enrolments[programme] = enrollment_id
        payload = EnrollmentActivated(
            enrollment_id=enrollment_id, person_id=person.person_id, application_id=uuid.uuid4(),
            region=person.region, programme=programme, base=Decimal(base), frequency=frequency, start_month=start,
        )
        envelopes.append(make_envelope(payload, subject=str(enrollment_id), region=person.region))
    return envelopes


async def deliver(billing, payload: EventPayload, region: str = BEIJING) -> None:
    """Apply an event of enrollment's the way the consumer does: its handler, in one unit of work."""
    envelope = make_envelope(payload, subject=str(uuid.uuid4()), region=region)
    handle = bind_handlers(HANDLERS, settings=billing.settings)[envelope.type]
    async with billing.runtime.units.begin(Origin.of_event(envelope)) as uow:
        await handle(uow, envelope.data)


async def an_active_enrolment(
    billing, *, region: str = BEIJING, programmes=("pension",), base: str = "7162", frequency: str = "monthly",
    start: str = "2025-07", via_broker: bool = False,
) -> Person:
    """A person whose enrolment(s) enrollment activated; billing knows them once this returns."""
    person = Person(uuid.uuid4(), region)
    envelopes = activations(person, programmes, base=base, frequency=frequency, start=start)
    if via_broker:
        await _publish(billing, envelopes)
        await eventually(lambda: _enrolment_count(billing, person, len(envelopes)), timeout_s=20, interval_s=0.05)
    else:
        for envelope in envelopes:
            await deliver(billing, envelope.data, region)
    return person


async def _publish(billing, envelopes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=billing.settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        topic = topic_for("enrollment", billing.settings.topic_prefix)
        for envelope in envelopes:
            await producer.send_and_wait(topic, envelope.to_json_bytes(), key=envelope.partition_key(),
                                         headers=[(TYPE_HEADER, envelope.type.encode())])
    finally:
        await producer.stop()


async def _enrolment_count(billing, person: Person, expected: int) -> bool:
    async with billing.pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM enrolments WHERE person_id = $1", person.person_id)
    return count == expected


# the stories live in 2025 while the clock says otherwise: every run of theirs is a back-run
BACK_RUN = "a story set in 2025"


async def billing_run(billing, as_of: str, region: str = BEIJING) -> dict:
    response = await billing.client.post("/v1/ops/billing-run", json={"as_of": as_of, "back_run_reason": BACK_RUN},
                                         headers=billing.auth("ops", region=region))
    assert response.status_code == 200, response.text
    return response.json()


async def overdue_scan(billing, as_of: str, region: str = BEIJING) -> dict:
    response = await billing.client.post("/v1/ops/overdue-scan", json={"as_of": as_of, "back_run_reason": BACK_RUN},
                                         headers=billing.auth("ops", region=region))
    assert response.status_code == 200, response.text
    return response.json()


def a_payment(person: Person, amount: str, *, paid_at: datetime | None = None, txn: str | None = None,
              channel: str = "unionpay") -> dict:
    return {
        "person_id": str(person.person_id), "amount": amount, "channel": channel,
        "channel_txn_id": txn or f"T-{uuid.uuid4().hex[:12]}",
        "paid_at": (paid_at or datetime(2025, 7, 10, 9, 30, tzinfo=UTC)).isoformat(),
    }


async def pay(billing, person: Person, amount: str, **kwargs) -> dict:
    body = a_payment(person, amount, **kwargs)
    channel = billing.auth("channel", sub=body["channel"])  # a channel's token names it
    response = await billing.client.post("/v1/payments", json=body, headers=channel)
    assert response.status_code == 201, response.text
    return response.json()


async def bills_of(billing, person: Person, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    response = await billing.client.get(f"/v1/persons/{person.person_id}/bills", params=params,
                                        headers=billing.auth("resident", sub=person.person_id))
    assert response.status_code == 200, response.text
    return response.json()["bills"]


async def events(billing, event_type: str, person: Person | None = None) -> list:
    """The events of ``event_type`` the service wrote to its outbox (about ``person``)."""
    async with billing.pool.acquire() as conn:
        rows = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", event_type)
    found = [decode_envelope(bytes(row["envelope"])) for row in rows]
    if person is not None:
        found = [e for e in found if getattr(e.data, "person_id", None) == person.person_id]
    return found


def on(day: str) -> datetime:
    """Noon of a business day in Beijing time, as an aware instant."""
    return datetime.fromisoformat(f"{day}T12:00:00+08:00")


def money(text: str) -> Decimal:
    return Decimal(text)


def months_from_today(n: int) -> date:
    """The first day of the month ``n`` months after the current one (in the region's time zone)."""
    from shared.periods import Month, business_date, now_utc

    return Month.of(business_date(now_utc())).plus(n).first_day
