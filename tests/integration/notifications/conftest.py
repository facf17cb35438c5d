"""The notifications service running in-process on the session's PostgreSQL and broker, fed
events on the topics other services publish to, as they would."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from services.notifications.app import SERVICE
from services.notifications.operations.deliveries import DeliveryRound, deliver_due
from shared.events import Envelope, EventPayload, decode_envelope, make_envelope, topic_for
from shared.periods import DEFAULT_TZ, now_utc
from tests.integration.harness import eventually
from tests.service_harness import RunningService, running_service

BEIJING = "110000"


def beijing_time(days_from_today: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Beijing ``days_from_today`` days from now: the worker's clock in a test."""
    today = now_utc().astimezone(DEFAULT_TZ).date()
    return datetime.combine(today + timedelta(days=days_from_today), time(hour, minute), tzinfo=DEFAULT_TZ)


@dataclass
class Notifications:
    service: RunningService
    producer: AIOKafkaProducer
    prefix: str
    sink: Path

    @property
    def client(self):
        return self.service.client

    def auth(self, role: str, **claims) -> dict[str, str]:
        return self.service.auth(role, **claims)

    async def publish(self, payload: EventPayload, *, region: str = BEIJING) -> Envelope:
        """Publish ``payload`` as its producing service would (own topic, keyed by person, type header)."""
        envelope = make_envelope(payload, subject=str(uuid.uuid4()), region=region)
        await self.publish_envelope(envelope)
        return envelope

    async def publish_envelope(self, envelope: Envelope) -> None:
        await self.producer.send_and_wait(
            topic_for(envelope.source, self.prefix), value=envelope.to_json_bytes(), key=envelope.partition_key(),
            headers=[(name, value.encode()) for name, value in envelope.kafka_headers().items()],
        )

    async def notices_about(self, envelope: Envelope) -> list:
        async with self.service.pool.acquire() as conn:
            return await conn.fetch("SELECT * FROM notifications WHERE caused_by = $1", envelope.id)

    async def notice_about(self, envelope: Envelope):
        """Wait for the notice about ``envelope``."""
        [notice] = await eventually(lambda: self.notices_about(envelope), timeout_s=15)
        return notice

    async def deliveries(self, notification_id: uuid.UUID) -> dict[str, dict]:
        async with self.service.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM deliveries WHERE notification_id = $1", notification_id)
        return {row["channel"]: dict(row) for row in rows}

    async def emitted(self, event_type: str, notification_id: uuid.UUID | None = None) -> list[Envelope]:
        """The events of ``event_type`` this service wrote to its outbox (about one notice, if given)."""
        async with self.service.pool.acquire() as conn:
            rows = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", event_type)
        envelopes = [decode_envelope(bytes(row["envelope"])) for row in rows]
        return [e for e in envelopes if notification_id is None or e.data.notification_id == notification_id]

    async def deliver(self, now: datetime, senders=None) -> DeliveryRound:
        """One pass of the delivery worker with its clock at ``now``."""
        runtime = self.service.runtime
        return await deliver_due(runtime.units, runtime.settings, now=now, senders=senders)

    async def inbox(self, person_id: uuid.UUID) -> list[dict]:
        response = await self.client.get(f"/v1/persons/{person_id}/notifications",
                                         headers=self.auth("resident", sub=person_id))
        assert response.status_code == 200, response.text
        return response.json()["notifications"]

    async def reminder_scan(self, as_of: date) -> int:
        response = await self.client.post("/v1/ops/reminder-scan", json={"as_of": as_of.isoformat()},
                                          headers=self.auth("ops"))
        assert response.status_code == 200, response.text
        return response.json()["reminders"]


@contextlib.asynccontextmanager
async def notifications_service(infrastructure, sink: Path, **overrides) -> AsyncIterator[Notifications]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    async with running_service(infrastructure, SERVICE, prefix=prefix, notifications_sink_dir=sink,
                               **overrides) as service:
        producer = AIOKafkaProducer(bootstrap_servers=infrastructure.bootstrap_servers)
        await producer.start()
        try:
            yield Notifications(service=service, producer=producer, prefix=prefix, sink=sink)
        finally:
            await producer.stop()
