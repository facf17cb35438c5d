"""Where the local platform is: ``make run`` records its addresses, the ``shebao`` CLI reads them.

The launcher writes ``<state dir>/platform.json`` once PostgreSQL and the broker are up and
removes it when it stops. The CLI takes each connection setting from the first of:

1. its flag (``--bootstrap-servers``, ``--database-url``, ``--topic-prefix``);
2. the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``, ``SHEBAO_TOPIC_PREFIX``, ...),
   as the services read it (``shared.settings``);
3. the state file of a ``make run`` that is still running (its process is alive);
4. what ``make run`` uses when nothing is set: the embedded broker on 127.0.0.1:19092 and the
   embedded PostgreSQL on 127.0.0.1:54329 (``SHEBAO_EMBEDDED_KAFKA_PORT`` / ``_PG_PORT``).

So with no flag and no variable the CLI talks to the platform it sits beside. The state file
never holds a password: a database URL with one is recorded without it (set ``DATABASE_URL``
for the CLI then).

The state directory is ``SHEBAO_STATE_DIR`` if set, else ``.shebao`` in the working directory
if it exists there, else the ``.shebao`` of this checkout (where ``make run`` keeps it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shared.settings import Settings

STATE_DIR_ENV = "SHEBAO_STATE_DIR"
STATE_FILE = "platform.json"
CHECKOUT_STATE_DIR = Path(__file__).resolve().parent.parent / ".shebao"

EMBEDDED_PG_PORT_ENV = "SHEBAO_EMBEDDED_PG_PORT"
EMBEDDED_KAFKA_PORT_ENV = "SHEBAO_EMBEDDED_KAFKA_PORT"
EMBEDDED_PG_PORT = 54329
EMBEDDED_KAFKA_PORT = 19092
EMBEDDED_DATABASE = "shebao"

# the settings the CLI locates, and the variables that set them (any one of them wins)
LOCATED = ("kafka_bootstrap_servers", "database_url", "topic_prefix")


@dataclass(frozen=True)
class PlatformAddresses:
    """What a running ``make run`` recorded: its process and where its parts listen."""

    bootstrap_servers: str
    database_url: str
    topic_prefix: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    pid: int = 0
    started_at: str = ""
    embedded_broker: bool = True
    embedded_postgres: bool = True


def default_state_dir(env: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Path:
    """The state directory the CLI looks in (see the module)."""
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV])
    here = (cwd or Path.cwd()) / ".shebao"
    return here if here.is_dir() else CHECKOUT_STATE_DIR


def embedded_ports(env: Mapping[str, str] = os.environ) -> tuple[int, int]:
    """(PostgreSQL port, broker port) of ``make run``'s embedded servers."""
    return (int(env.get(EMBEDDED_PG_PORT_ENV) or EMBEDDED_PG_PORT),
            int(env.get(EMBEDDED_KAFKA_PORT_ENV) or EMBEDDED_KAFKA_PORT))


def make_run_defaults(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The connection settings of ``make run`` with its embedded servers."""
    pg_port, kafka_port = embedded_ports(env)
    return {
        "kafka_bootstrap_servers": f"127.0.0.1:{kafka_port}",
        "database_url": f"postgresql://postgres@127.0.0.1:{pg_port}/{EMBEDDED_DATABASE}",
        "topic_prefix": "",
    }


def record(state_dir: Path, addresses: PlatformAddresses) -> Path:
    """Write the state file (readable by its owner only); returns its path."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE
    safe = {**asdict(addresses), "database_url": without_password(addresses.database_url)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(safe, indent=2) + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)  # atomic: a reader never sees half a file
    return path


def forget(state_dir: Path) -> None:
    """Remove the state file (the platform stopped)."""
    (state_dir / STATE_FILE).unlink(missing_ok=True)


def running(state_dir: Path) -> PlatformAddresses | None:
    """The addresses of the ``make run`` that recorded them, if its process is still alive."""
    try:
        values = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
        known = PlatformAddresses.__dataclass_fields__
        addresses = PlatformAddresses(**{k: v for k, v in values.items() if k in known})
    except (OSError, ValueError, TypeError, AttributeError):  # missing, half-written or not ours
        return None
    return addresses if _alive(addresses.pid) else None


def now_stamp() -> str:
    """The current UTC time as RFC 3339, for ``started_at``."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def locate(settings: Settings, state_dir: Path | None = None,
           env: Mapping[str, str] = os.environ) -> tuple[Settings, dict[str, str]]:
    """``settings`` with the connection settings not set in the environment taken from a running
    ``make run`` or its defaults; also where each located setting came from (``environment``,
    ``<path of the state file>`` or ``make run defaults``)."""
    state_dir = state_dir or default_state_dir(env)
    found = running(state_dir)
    if found is not None:
        fallback = {"kafka_bootstrap_servers": found.bootstrap_servers, "database_url": found.database_url,
                    "topic_prefix": found.topic_prefix}
        origin = str(state_dir / STATE_FILE)
    else:
        fallback, origin = make_run_defaults(env), "make run defaults"
    update, sources = {}, {}
    for name in LOCATED:
        if name in settings.model_fields_set:
            sources[name] = "environment"
        else:
            update[name] = fallback[name]
            sources[name] = origin
    return settings.model_copy(update=update), sources


def without_password(url: str) -> str:
    """``url`` with any password removed (``postgresql://user@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True
