"""Test session: one embedded PostgreSQL and one Tansu broker on free ports, started once.

Never the machine's own PostgreSQL: everything runs in throw-away directories.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tooling.devstack import EmbeddedBroker, EmbeddedPostgres


@dataclass
class Infrastructure:
    postgres: EmbeddedPostgres
    broker: EmbeddedBroker
    database_url: str

    @property
    def bootstrap_servers(self) -> str:
        return self.broker.bootstrap_servers


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    root = Path(tempfile.mkdtemp(prefix="shebao-test-"))
    postgres = EmbeddedPostgres(root / "postgres", durable=False)
    broker = EmbeddedBroker()
    postgres.start(root / "postgres.log")
    try:
        postgres.create_database("shebao")
        broker.start(root / "broker.log")
        yield Infrastructure(postgres=postgres, broker=broker, database_url=postgres.url("shebao"))
    finally:
        broker.stop()
        postgres.stop()


@pytest.fixture
def unique_name() -> str:
    """A fresh lowercase identifier, for schemas and topic prefixes that no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"
