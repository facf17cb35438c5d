"""Whether a service is running, asked of the database rather than of the broker.

Every process of a service keeps connections open to its schema, named
``shebao-<schema>`` (``shared.db``). The broker cannot be asked instead: Tansu keeps
listing a consumer-group member after it has left, and joining a group to find out
disturbs the running members (on Tansu, enough to stop them rejoining for minutes).
"""

from __future__ import annotations

import asyncpg

from shared.db import check_schema_name
from shared.settings import SERVICE_NAMES, Settings
from tooling.ops import OpsError

OPS_APPLICATION_NAME = "shebao-ops"


class ServiceRunning(OpsError):
    """A process of the service is connected to its schema."""


async def ops_connection(settings: Settings, schema: str) -> asyncpg.Connection:
    """A connection to ``schema`` that is not mistaken for one of the service's own."""
    check_schema_name(schema)
    return await asyncpg.connect(
        settings.database_url,
        server_settings={"search_path": f"{schema},public", "application_name": OPS_APPLICATION_NAME},
    )


def service_of_group(group_id: str, prefix: str) -> str | None:
    """The service whose consumer group is ``group_id`` (``<prefix>shebao.<service>``), if any."""
    for service in SERVICE_NAMES:
        if group_id == f"{prefix}shebao.{service}":
            return service
    return None


async def ensure_stopped(settings: Settings, service: str, schema: str) -> None:
    """Raise ``ServiceRunning`` while any process of ``service`` is connected to ``schema``."""
    conn = await ops_connection(settings, schema)
    try:
        connected = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
            f"shebao-{schema}",
        )
    finally:
        await conn.close()
    if connected:
        raise ServiceRunning(
            f"the {service} service is running ({connected} connection(s) to schema {schema}): "
            "stop every process of it, then run this again"
        )
