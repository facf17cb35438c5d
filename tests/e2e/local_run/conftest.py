"""Tests that need a ``make run`` of their own: the launcher with its own embedded (in-memory) broker, its own
database on the session's PostgreSQL, its state directory (``.shebao``) under the test's
``tmp_path``, and free ports; the fixture ``make_run`` starts one, again after a stop to restart."""

from __future__ import annotations

import os

import pytest

from shared.settings import SERVICE_NAMES
from tooling.devstack import free_port
from tooling.launcher import Platform

FAST = {
    "SHEBAO_KAFKA_SESSION_TIMEOUT_MS": "2000",
    "SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "SHEBAO_OUTBOX_POLL_INTERVAL_S": "0.2",
}
# what the CLI would otherwise take its connection from: a test of "no flags" runs without them
LOCATED_VARIABLES = ("KAFKA_BOOTSTRAP_SERVERS", "SHEBAO_KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL",
                     "SHEBAO_DATABASE_URL", "SHEBAO_TOPIC_PREFIX", "SHEBAO_STATE_DIR")


def environment_without_located_variables() -> dict[str, str]:
    """This process's environment less every variable the CLI would take its connection from."""
    return {name: value for name, value in os.environ.items() if name not in LOCATED_VARIABLES}


@pytest.fixture
def make_run(infrastructure, tmp_path):
    """Call it to start a platform (see the module); every one started is stopped at the end."""
    database = f"run_{os.getpid()}_{free_port()}"
    infrastructure.postgres.create_database(database)
    config = dict(state_dir=tmp_path / ".shebao", database_url=infrastructure.postgres.url(database),
                  broker_port=free_port(), ports={service: free_port() for service in SERVICE_NAMES},
                  extra_env={**FAST, "SHEBAO_DOCUMENTS_STORAGE_DIR": str(tmp_path / "documents"),
                             "SHEBAO_NOTIFICATIONS_SINK_DIR": str(tmp_path / "sinks")})
    started: list[Platform] = []

    def start() -> Platform:
        platform = Platform(**config)
        started.append(platform)
        platform.start_infrastructure()
        platform.start_services()
        platform.wait_until_ready(timeout_s=90)
        return platform

    yield start
    for platform in started:
        platform.stop()
