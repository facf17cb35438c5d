"""One enrollment service for the package on the real broker and database, with Beijing's and
Shanghai's policies published; helpers that speak the story: a resident applies, documents
verifies or rejects, billing reports an overdue bill or settled arrears."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.enrollment.app import SERVICE
from shared.events import (
    ArrearsSettled,
    DocumentsRejected,
    DocumentsVerified,
    Envelope,
    EventPayload,
    PaymentOverdue,
    PolicyPublished,
    decode_envelope,
    make_envelope,
    topic_for,
)
from shared.events.topics import TYPE_HEADER
from shared.identity import person_id_for
from tests.integration.harness import eventually, publish_raw, read_topic
from tests.service_harness import RunningService, running_service
from tests.unit.enrollment.builders import an_id_number

BEIJING = "110000"
SHANGHAI = "310000"
GUANGDONG = "440000"  # no policy published: nothing offered
SHA = "0" * 64


@pytest.fixture(scope="package")
async def enrollment(infrastructure):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    async with running_service(infrastructure, SERVICE, prefix=prefix) as svc:
        service = Enrollment(svc, infrastructure.bootstrap_servers, prefix)
        await service.seed_policies()
        yield service


_people = itertools.count(1)


class Resident:
    """A person with a valid ID number born in the 1980s/90s (or on ``birth``)."""

    def __init__(self, birth: date | None = None, sex: str = "male") -> None:
        n = next(_people)
        self.birth = birth or date(1980, 1, 1) + timedelta(days=37 * n)
        self.sex = sex
        self.id_number = an_id_number(self.birth, sex, sequence=(2 * n + (1 if sex == "male" else 0)) % 1000)
        self.person_id = person_id_for(self.id_number)


class Enrollment:
    """The running service, spoken to as residents, caseworkers, documents and billing would."""

    def __init__(self, svc: RunningService, bootstrap_servers: str, prefix: str) -> None:
        self.svc = svc
        self.client = svc.client
        self.pool = svc.pool
        self.bootstrap_servers = bootstrap_servers
        self.prefix = prefix

    # --- as billing and documents ------------------------------------------------------

    async def publish(self, payload: EventPayload, *, subject: str, region: str = BEIJING) -> Envelope:
        envelope = make_envelope(payload, subject=subject, region=region)
        await self.publish_envelope(envelope)
        return envelope

    async def publish_envelope(self, envelope: Envelope) -> None:
        await publish_raw(self.bootstrap_servers, topic_for(envelope.source, self.prefix), envelope.to_json_bytes(),
                          envelope.partition_key(), headers=[(TYPE_HEADER, envelope.type.encode())])

    async def publish_policy(self, region: str, programme: str, floor: str | None, ceiling: str | None,
                             frequencies=("monthly", "quarterly", "half_yearly", "annual"),
                             effective_from: date = date(2025, 7, 1)) -> Envelope:
        payload = PolicyPublished(
            region=region, programme=programme, effective_from=effective_from, base_floor=floor,
            base_ceiling=ceiling, rate="0.20" if floor else None, flat_amount=None if floor else "584.92",
            flat_period=None if floor else "month", frequencies=frequencies, due_day=15, grace_days=0,
            late_fee_daily_rate="0.0005", back_payment_allowed=region != SHANGHAI,
        )
        return await self.publish(payload, subject=f"{region}:{programme}", region=region)

    async def seed_policies(self) -> None:
        """DOMAIN.md's Beijing and Shanghai policies from 2025-07-01, as billing publishes them."""
        await self.publish_policy(BEIJING, "pension", "7162", "35811")
        await self.publish_policy(BEIJING, "medical_employee", None, None)
        await self.publish_policy(BEIJING, "unemployment", "7162", "35811")
        await self.publish_policy(SHANGHAI, "pension", "7460", "37302", frequencies=("monthly",))
        await self.publish_policy(SHANGHAI, "medical_employee", "7460", "37302", frequencies=("monthly",))
        await self.policies_known(5)

    async def policies_known(self, count: int) -> None:
        async def known():
            async with self.pool.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM policies") >= count
        await eventually(known, timeout_s=20, interval_s=0.05)

    async def handled(self, envelope: Envelope) -> None:
        """Wait until the service has consumed ``envelope`` (its id is in the inbox)."""
        async def in_inbox():
            async with self.pool.acquire() as conn:
                return await conn.fetchval("SELECT true FROM inbox WHERE event_id = $1", envelope.id)
        await eventually(in_inbox, timeout_s=15, interval_s=0.05)

    async def documents_verified(self, application_id: uuid.UUID, person_id: uuid.UUID) -> Envelope:
        return await self.publish(DocumentsVerified(
            application_id=application_id, person_id=person_id, verified_by="caseworker-1",
            materials=[{"material": "id_card", "document_id": uuid.uuid4(), "sha256": SHA}],
        ), subject=str(application_id))

    async def documents_rejected(self, application_id: uuid.UUID, person_id: uuid.UUID, reason="illegible",
                                 note="the photo is blurred") -> Envelope:
        return await self.publish(DocumentsRejected(
            application_id=application_id, person_id=person_id,
            rejected=[{"material": "id_card", "document_id": uuid.uuid4(), "reason": reason, "note": note}],
        ), subject=str(application_id))

    async def payment_overdue(self, person_id: uuid.UUID, programmes, level: int) -> Envelope:
        bill_id = uuid.uuid4()
        return await self.publish(PaymentOverdue(
            bill_id=bill_id, person_id=person_id, programmes=programmes, due_date=date(2025, 8, 15),
            days_overdue=level, level=level, unpaid_principal="1432.40", late_fee_to_date="64.46",
        ), subject=str(bill_id))

    async def arrears_settled(self, person_id: uuid.UUID, programmes, at: datetime | None = None) -> Envelope:
        return await self.publish(ArrearsSettled(
            person_id=person_id, programmes=programmes, settled_at=at or datetime.now(UTC),
        ), subject=str(person_id))

    # --- as residents and caseworkers --------------------------------------------------

    def as_resident(self, resident: Resident) -> dict[str, str]:
        return self.svc.auth("resident", sub=resident.person_id)

    def as_caseworker(self, region: str = BEIJING) -> dict[str, str]:
        return self.svc.auth("caseworker", region=region)

    async def apply(self, resident: Resident, headers: dict[str, str] | None = None, **changes: Any):
        """POST an application of ``resident`` (pension and medical in Beijing at the floor unless changed)."""
        body = {
            "id_number": resident.id_number, "name": "王芳", "phone": "13800138000", "language": "zh-CN",
            "region": BEIJING, "programmes": ["pension", "medical_employee"], "declared_base": "7162",
            "frequency": "monthly",
        }
        body.update(changes)
        return await self.client.post("/v1/applications", json=body, headers=headers or self.as_resident(resident))

    async def an_application(self, resident: Resident, **changes: Any) -> uuid.UUID:
        response = await self.apply(resident, **changes)
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["application_id"])

    async def active_enrolments(self, resident: Resident, **changes: Any) -> list[dict]:
        """An approved application of ``resident``: its enrolments, once active."""
        application_id = await self.an_application(resident, **changes)
        await self.documents_verified(application_id, resident.person_id)
        enrolments = await self.enrolments_eventually(resident, lambda es: es and all(
            e["status"] == "active" for e in es))
        return enrolments

    async def application(self, application_id: uuid.UUID, headers: dict[str, str]) -> dict:
        response = await self.client.get(f"/v1/applications/{application_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def enrolments(self, resident: Resident) -> list[dict]:
        response = await self.client.get(f"/v1/persons/{resident.person_id}/enrollments",
                                         headers=self.as_resident(resident))
        assert response.status_code == 200, response.text
        return response.json()["enrollments"]

    async def enrolments_eventually(self, resident: Resident, condition) -> list[dict]:
        async def check():
            enrolments = await self.enrolments(resident)
            return enrolments if condition(enrolments) else None
        return await eventually(check, timeout_s=20, interval_s=0.05)

    # --- what the service emitted ------------------------------------------------------

    async def emitted(self, person_id: uuid.UUID, event_type: str | None = None) -> list[Envelope]:
        """The events the service wrote to its outbox about ``person_id``, in order."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT envelope FROM outbox WHERE partition_key = $1 AND ($2::text IS NULL OR event_type = $2) "
                "ORDER BY seq", str(person_id), event_type)
        return [decode_envelope(bytes(row["envelope"])) for row in rows]

    async def published(self, envelope: Envelope) -> list:
        """Every record on the service's topic once ``envelope`` (from its outbox) has been relayed."""
        async def relayed():
            async with self.pool.acquire() as conn:
                if await conn.fetchval("SELECT status FROM outbox WHERE event_id = $1", envelope.id) != "sent":
                    return None
                return await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'sent'")
        sent = await eventually(relayed, timeout_s=15, interval_s=0.05)
        return await read_topic(self.bootstrap_servers, topic_for("enrollment", self.prefix), expected=sent)

    async def emitted_eventually(self, person_id: uuid.UUID, event_type: str, count: int) -> list[Envelope]:
        async def check():
            events = await self.emitted(person_id, event_type)
            return events if len(events) >= count else None
        return await eventually(check, timeout_s=20, interval_s=0.05)
