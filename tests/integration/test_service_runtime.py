"""Every service process comes up on the real database and broker and reports ready."""

from __future__ import annotations

import pytest

from services.billing.app import SERVICE as BILLING
from services.documents.app import SERVICE as DOCUMENTS
from services.enrollment.app import SERVICE as ENROLLMENT
from services.notifications.app import SERVICE as NOTIFICATIONS
from tests.service_harness import running_service

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("definition", [ENROLLMENT, DOCUMENTS, BILLING, NOTIFICATIONS], ids=lambda d: d.name)
async def test_service_is_ready_and_exposes_metrics(infrastructure, unique_name, definition):
    async with running_service(infrastructure, definition, prefix=f"{unique_name}.") as service:
        ready = await service.client.get("/readyz")
        metrics = await service.client.get("/metrics")
        unknown = await service.client.get("/v1/no-such-route")

    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": True, "broker": True}}
    assert "shebao_events_consumed_total" in metrics.text
    assert "shebao_outbox_pending" in metrics.text
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
