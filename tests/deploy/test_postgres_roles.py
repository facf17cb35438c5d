"""deploy/postgres/init-roles.sh: one role per service that can use only its own schema,
run against the session's PostgreSQL in a database of its own."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import apply_migrations
from shared.settings import SERVICE_NAMES
from tests.deploy.deployfiles import DEPLOY, service_definition
from tests.deploy.roles import init_roles, role_url

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def roles_database(infrastructure) -> str:
    """A fresh database with the roles created (twice: the script is idempotent)."""
    database = "roles_test"
    infrastructure.postgres.create_database(database)
    init_roles(infrastructure, database)
    init_roles(infrastructure, database)
    return database


def test_the_script_creates_a_role_for_every_service_in_the_code():
    script = (DEPLOY / "postgres" / "init-roles.sh").read_text()
    assert f'services="{" ".join(SERVICE_NAMES)}"' in script


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_a_service_role_applies_its_own_migrations(infrastructure, roles_database, service):
    url = role_url(infrastructure, roles_database, service)
    await apply_migrations(url, service, service_definition(service).migrations_dir)
    conn = await asyncpg.connect(url)
    try:
        owners = await conn.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = $1", service)
        assert [row["tableowner"] for row in owners] == [f"shebao_{service}"]
        assert await conn.fetchval("SHOW search_path") == service
    finally:
        await conn.close()


@pytest.mark.parametrize(("service", "other"), [("billing", "enrollment"), ("notifications", "documents")])
async def test_a_service_role_cannot_touch_another_services_schema(infrastructure, roles_database, service, other):
    await apply_migrations(role_url(infrastructure, roles_database, other), other, None)
    conn = await asyncpg.connect(role_url(infrastructure, roles_database, service))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT * FROM {other}.outbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"CREATE TABLE {other}.intruder (id int)")
    finally:
        await conn.close()


async def test_a_service_role_can_create_no_schema_and_nothing_in_public(infrastructure, roles_database):
    conn = await asyncpg.connect(role_url(infrastructure, roles_database, "billing"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE SCHEMA billing_extra")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
    finally:
        await conn.close()

