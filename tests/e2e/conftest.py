"""End-to-end: the four services as separate OS processes, started by the same launcher as
``make run``, on the session's embedded PostgreSQL and Tansu broker."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.periods import CLOCK_FILE_ENV
from shared.settings import SERVICE_NAMES
from tooling.devstack import free_port
from tooling.journey import Platform as PlatformClient
from tooling.launcher import Platform

E2E_PREFIX = "e2e."


@contextlib.contextmanager
def serving(platform: Platform) -> Iterator[Platform]:
    """The launcher's ``platform`` running (its services ready) for the block, stopped after it."""
    platform.start_infrastructure()
    platform.start_services()
    try:
        platform.wait_until_ready(timeout_s=60)
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="session")
def platform(infrastructure) -> Iterator[Platform]:
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-e2e-"))
    clock_file = state_dir / "clock"
    clock_file.write_text("0")
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
            CLOCK_FILE_ENV: str(clock_file),
        },
    )
    with serving(platform):
        yield platform


@pytest.fixture
def client(platform) -> PlatformClient:
    """The journey driver, pointed at the e2e platform."""
    return PlatformClient(ports=dict(platform.ports))


class PlatformClock:
    """Moves every service's clock (shared.periods.now_utc) forward together."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def advance_to(self, instant) -> None:
        """Every service's clock reads ``instant`` now (the offset is from the real clock, so the
        clock can be moved again and again)."""
        real_now = datetime.now(UTC)
        self.path.write_text(str((instant - real_now).total_seconds()))

    def offset(self):
        from datetime import timedelta

        return timedelta(seconds=float(self.path.read_text() or 0))

    def reset(self) -> None:
        self.path.write_text("0")


@pytest.fixture
def clock(platform) -> Iterator[PlatformClock]:
    clock = PlatformClock(platform.state_dir / "clock")
    yield clock
    clock.reset()
