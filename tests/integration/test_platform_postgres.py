"""The PostgreSQL the platform starts for itself runs with the platform's settings: autovacuum
looks at its growing tables every few seconds (tooling/launcher.py, README Performance)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest

from tooling.devstack import free_port
from tooling.launcher import Platform

pytestmark = pytest.mark.integration


async def test_the_platforms_own_postgresql_runs_with_its_settings():
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-platform-pg-"))
    postgres = Platform(state_dir=state_dir, pg_port=free_port(), durable=False).embedded_postgres()
    postgres.start()
    try:
        conn = await asyncpg.connect(postgres.url("postgres"))
        try:
            assert await conn.fetchval("SHOW autovacuum_naptime") == "5s"
            assert await conn.fetchval("SHOW autovacuum") == "on"
        finally:
            await conn.close()
    finally:
        postgres.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
