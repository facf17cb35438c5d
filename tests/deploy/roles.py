"""Running deploy/postgres/init-roles.sh against the session's embedded PostgreSQL."""

from __future__ import annotations

import os
import subprocess

from shared.settings import SERVICE_NAMES
from tests.deploy.deployfiles import DEPLOY


def role_password(service: str) -> str:
    return f"{service}-test-password"


def init_roles(infrastructure, database: str) -> None:
    """The script as the postgres image runs it, with the embedded server's psql."""
    postgres = infrastructure.postgres
    env = {
        **os.environ,
        "PATH": f"{postgres._bin}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1", "PGPORT": str(postgres.port),
        "POSTGRES_USER": "postgres", "POSTGRES_DB": database,
        **{f"SHEBAO_DB_PASSWORD_{service.upper()}": role_password(service) for service in SERVICE_NAMES},
    }
    subprocess.run(["sh", str(DEPLOY / "postgres" / "init-roles.sh")], env=env, check=True,
                   capture_output=True, timeout=60)


def role_url(infrastructure, database: str, service: str) -> str:
    return (f"postgresql://shebao_{service}:{role_password(service)}"
            f"@127.0.0.1:{infrastructure.postgres.port}/{database}")
