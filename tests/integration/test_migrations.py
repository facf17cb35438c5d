"""The migrations runner against the real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from shared.db import KERNEL_MIGRATIONS, apply_migrations, load_migrations

pytestmark = pytest.mark.integration

KERNEL = [f"kernel/{migration.name}" for migration in load_migrations("kernel", KERNEL_MIGRATIONS)]


def write_migrations(directory: Path) -> Path:
    directory.mkdir()
    (directory / "001_people.sql").write_text("CREATE TABLE people (id int PRIMARY KEY);")
    (directory / "002_people_name.sql").write_text("ALTER TABLE people ADD COLUMN name text;")
    return directory


async def test_applies_kernel_and_service_migrations_once(infrastructure, unique_name, tmp_path):
    service_dir = write_migrations(tmp_path / "migrations")

    first = await apply_migrations(infrastructure.database_url, unique_name, service_dir)
    second = await apply_migrations(infrastructure.database_url, unique_name, service_dir)

    assert first == [*KERNEL, "service/001_people", "service/002_people_name"]
    assert KERNEL[:2] == ["kernel/001_outbox", "kernel/002_inbox"]
    assert second == []
    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", unique_name
        )
        assert [t["table_name"] for t in tables] == ["dead_lettered", "inbox", "outbox", "outbox_relay", "people",
                                                      "schema_migrations", "staff_actions"]
    finally:
        await conn.close()


async def test_two_replicas_starting_together_do_not_race(infrastructure, unique_name, tmp_path):
    service_dir = write_migrations(tmp_path / "migrations")

    results = await asyncio.gather(
        *(apply_migrations(infrastructure.database_url, unique_name, service_dir) for _ in range(3))
    )

    assert sorted(len(applied) for applied in results) == [0, 0, len(KERNEL) + 2]


async def test_failed_migration_leaves_nothing_half_applied(infrastructure, unique_name, tmp_path):
    service_dir = write_migrations(tmp_path / "migrations")
    (service_dir / "003_broken.sql").write_text("CREATE TABLE pets (id int); SELECT no_such_function();")

    with pytest.raises(asyncpg.PostgresError):
        await apply_migrations(infrastructure.database_url, unique_name, service_dir)

    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        versions = await conn.fetch(f"SELECT source, version FROM {unique_name}.schema_migrations ORDER BY 1, 2")
        kernel = [("kernel", migration.version) for migration in load_migrations("kernel", KERNEL_MIGRATIONS)]
        assert [(v["source"], v["version"]) for v in versions] == [*kernel, ("service", 1), ("service", 2)]
        assert await conn.fetchval("SELECT to_regclass($1)", f"{unique_name}.pets") is None
    finally:
        await conn.close()


def test_misnamed_migration_file_is_refused(tmp_path):
    (tmp_path / "1_bad.sql").write_text("SELECT 1")
    with pytest.raises(ValueError, match="NNN_name.sql"):
        load_migrations("service", tmp_path)
