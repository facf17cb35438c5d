"""The launcher of ``make run`` brings every service up as its own process."""

from __future__ import annotations

import httpx
import pytest

from shared.settings import SERVICE_NAMES

pytestmark = pytest.mark.e2e


def test_every_service_runs_as_its_own_process_and_is_ready(platform):
    pids = {service: platform.processes[service].pid for service in SERVICE_NAMES}

    for service in SERVICE_NAMES:
        response = httpx.get(f"http://127.0.0.1:{platform.ports[service]}/readyz", timeout=5)
        assert response.status_code == 200, service
        assert response.json()["checks"] == {"database": True, "broker": True}

    assert len(set(pids.values())) == 4
