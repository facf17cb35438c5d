"""End-to-end: the four services as separate OS processes, started by the same launcher as
``make run``, on the session's embedded PostgreSQL and Tansu broker."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.devstack import free_port
from shared.launcher import Platform
from shared.settings import SERVICE_NAMES

E2E_PREFIX = "e2e."


@pytest.fixture(scope="session")
def platform(infrastructure) -> Iterator[Platform]:
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-e2e-"))
    platform = Platform(
        state_dir=state_dir,
        database_url=infrastructure.database_url,
        bootstrap_servers=infrastructure.bootstrap_servers,
        topic_prefix=E2E_PREFIX,
        ports={service: free_port() for service in SERVICE_NAMES},
        extra_env={
            "SHEBAO_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "SHEBAO_OUTBOX_POLL_INTERVAL_S": "0.2",
            "SHEBAO_CONSUMER_RETRY_BACKOFF_S": "0.05",
            "SHEBAO_DOCUMENTS_STORAGE_DIR": str(state_dir / "documents"),
            "SHEBAO_NOTIFICATIONS_SINK_DIR": str(state_dir / "sinks"),
        },
    )
    platform.start_infrastructure()
    platform.start_services()
    try:
        platform.wait_until_ready(timeout_s=60)
        yield platform
    finally:
        platform.stop()
