"""One documents service for the module, on the real broker, database and a temp directory;
helpers that speak the story: an application is submitted, a resident uploads, a
caseworker reviews."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest

from services.documents.app import SERVICE
from shared.events import (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Envelope,
    decode_envelope,
    make_envelope,
    topic_for,
)
from shared.events.topics import TYPE_HEADER
from tests.integration.harness import eventually, publish_raw
from tests.service_harness import RunningService, running_service
from tests.unit.documents.sample_files import multipart

BEIJING = "110000"
SHANGHAI = "310000"


@pytest.fixture(scope="module")
async def documents(infrastructure, tmp_path_factory):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    storage_dir = tmp_path_factory.mktemp("documents-storage")
    async with running_service(infrastructure, SERVICE, prefix=prefix, documents_storage_dir=storage_dir) as svc:
        yield Documents(svc, infrastructure.bootstrap_servers, prefix)


@dataclass(frozen=True)
class Application:
    application_id: uuid.UUID
    person_id: uuid.UUID
    region: str


class Documents:
    """The running service, spoken to as enrollment, residents and caseworkers would."""

    def __init__(self, svc: RunningService, bootstrap_servers: str, prefix: str) -> None:
        self.svc = svc
        self.client = svc.client
        self.pool = svc.pool
        self.bootstrap_servers = bootstrap_servers
        self.prefix = prefix

    @property
    def storage(self):
        return self.svc.runtime.documents_storage

    # --- as enrollment -----------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> None:
        await publish_raw(self.bootstrap_servers, topic_for("enrollment", self.prefix), envelope.to_json_bytes(),
                          envelope.partition_key(), headers=[(TYPE_HEADER, envelope.type.encode())])

    def submission(self, *, programmes=("pension", "medical_employee"), region=BEIJING,
                   person_id: uuid.UUID | None = None, at: datetime | None = None) -> Envelope:
        payload = ApplicationSubmitted(
            application_id=uuid.uuid4(), person_id=person_id or uuid.uuid4(), region=region,
            programmes=programmes, declared_base="7162.00", frequency="monthly",
            contact={"phone": "13800138000", "language": "zh-CN"},
        )
        return make_envelope(payload, subject=str(payload.application_id), region=region, time=at)

    async def an_application(self, **kwargs) -> Application:
        """An application submitted through the topic, once its dossier is open."""
        envelope = self.submission(**kwargs)
        await self.publish(envelope)
        await self.dossier_opened(envelope.data.application_id)
        return Application(envelope.data.application_id, envelope.data.person_id, envelope.data.region)

    async def dossier_opened(self, application_id: uuid.UUID) -> None:
        async def opened():
            async with self.pool.acquire() as conn:
                return await conn.fetchval("SELECT true FROM dossiers WHERE application_id = $1", application_id)
        await eventually(opened, timeout_s=15, interval_s=0.05)

    async def withdraw(self, application: Application, *, at: datetime | None = None) -> None:
        payload = ApplicationWithdrawn(application_id=application.application_id, person_id=application.person_id)
        await self.publish(make_envelope(payload, subject=str(application.application_id),
                                         region=application.region, time=at))

        async def closed():
            async with self.pool.acquire() as conn:
                return await conn.fetchval("SELECT status = 'withdrawn' FROM dossiers WHERE application_id = $1",
                                           application.application_id)
        await eventually(closed, timeout_s=15, interval_s=0.05)

    # --- as a resident ---------------------------------------------------------------------

    def resident(self, application: Application | uuid.UUID) -> dict[str, str]:
        person_id = application.person_id if isinstance(application, Application) else application
        return self.svc.auth("resident", sub=person_id)

    async def upload(self, application: Application, material: str, content: bytes, *, headers=None,
                     filename: str = "scan.jpg", content_type: str = "image/jpeg"):
        body, form_type = multipart(content, filename=filename, content_type=content_type)
        return await self.client.put(
            f"/v1/dossiers/{application.application_id}/materials/{material}", content=body,
            headers={**(headers or self.resident(application)), "Content-Type": form_type},
        )

    async def uploaded(self, application: Application, material: str, content: bytes) -> str:
        response = await self.upload(application, material, content)
        assert response.status_code == 201, response.text
        return response.json()["document_id"]

    async def dossier(self, application: Application, headers=None) -> dict:
        response = await self.client.get(f"/v1/dossiers/{application.application_id}",
                                         headers=headers or self.resident(application))
        assert response.status_code == 200, response.text
        return response.json()

    # --- as a caseworker -------------------------------------------------------------------

    def caseworker(self, region: str = BEIJING, name: str = "caseworker-wang") -> dict[str, str]:
        return self.svc.auth("caseworker", sub=name, region=region)

    async def review(self, document_id: str, decision: str = "approve", *, reason=None, note=None,
                     headers=None):
        body = {"decision": decision}
        if reason is not None:
            body["reason"] = reason
        if note is not None:
            body["note"] = note
        return await self.client.post(f"/v1/documents/{document_id}/review", json=body,
                                      headers=headers or self.caseworker())

    async def approved(self, document_id: str, **kwargs) -> dict:
        response = await self.review(document_id, "approve", **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    # --- what the service did -----------------------------------------------------------------

    async def emitted(self, event_type: str, application: Application) -> list[Envelope]:
        """The events of ``event_type`` about ``application`` in the outbox, in order."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY seq", event_type)
        envelopes = [decode_envelope(bytes(row["envelope"])) for row in rows]
        return [e for e in envelopes if e.data.application_id == application.application_id]

    async def rows(self, sql: str, *args) -> list:
        async with self.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def value(self, sql: str, *args):
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)
