"""Run one real service in-process for a test: its migrations, runtime (relay + consumer)
and HTTP app, on the session's embedded PostgreSQL and Tansu broker.

    async with running_service(infrastructure, BILLING, prefix=unique_name + ".") as svc:
        response = await svc.client.post("/v1/payments", json=..., headers=svc.auth("channel", sub="unionpay"))
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth import mint_token
from shared.db import apply_migrations
from shared.events import all_topics
from shared.runtime import ServiceDefinition, ServiceRuntime, build_http_app
from shared.settings import Settings
from tests.integration.harness import test_settings, wait_until_assigned
from tooling.devstack import ensure_topics


@dataclass
class RunningService:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    settings: Settings

    @property
    def pool(self):
        return self.runtime.pool

    def auth(self, role: str, *, sub: str | uuid.UUID | None = None, region: str | None = None) -> dict[str, str]:
        """Authorization header for a caller with ``role`` (a resident's sub is their person id)."""
        token = mint_token(
            sub=str(sub or f"{role}-1"), role=role, region=region or self.settings.region,
            secret=self.settings.jwt_secret, issuer=self.settings.jwt_issuer,
        )
        return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def running_service(
    infrastructure, definition: ServiceDefinition, *, prefix: str, schema: str | None = None, **overrides: Any
) -> AsyncIterator[RunningService]:
    """Start ``definition`` with its own fresh schema (``<prefix-without-dot>_<name>``) and topic prefix."""
    schema = schema or f"{prefix.rstrip('.')}_{definition.name}"
    settings = test_settings(infrastructure, schema, prefix, definition.settings_class, **overrides)
    await apply_migrations(settings.database_url, schema, definition.migrations_dir)
    await ensure_topics(settings.kafka_bootstrap_servers, all_topics(prefix), 3)
    runtime = ServiceRuntime(definition, settings)
    await runtime.start()
    try:
        if runtime.consumer is not None:
            await wait_until_assigned(runtime)
        app = build_http_app(definition, settings, runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield RunningService(runtime=runtime, client=client, settings=settings)
    finally:
        await runtime.stop()
