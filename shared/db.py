"""Database access shared by every service: the asyncpg pool bound to the service's own
schema, and the migrations runner.

Each service owns one Postgres schema named after it. Its migrations are numbered SQL
files (``001_accounts.sql``); the kernel's own tables (outbox, inbox) come first from
``shared/migrations``. Applied versions are recorded in ``<schema>.schema_migrations``;
an advisory lock keeps two replicas starting together from racing.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolAcquireContext

from shared import metrics
from shared.errors import ServiceBusy

KERNEL_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


POOL_WAIT_LIMIT: ContextVar[float | None] = ContextVar("shebao_pool_wait_limit", default=None)
"""How long the current task may wait in a pool's line, in seconds (None: as long as it takes). An
HTTP request's is ``SHEBAO_DB_POOL_WAIT_LIMIT_S`` (``shared.request_guard``) until it gets its first
connection, then None; a consumer's batch, a relay pass or a job waits for its turn however long
that takes."""


class PoolBusy(ServiceBusy):
    """Every connection of the pool stayed taken for as long as the request may wait, before anything
    was written by the unit of work that asked."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"no database connection came free within {limit_s:g} s")


@dataclass(frozen=True)
class Migration:
    source: str
    version: int
    name: str
    sql: str


def check_schema_name(schema: str) -> str:
    """Schema names are interpolated into SQL, so they must be plain identifiers."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


async def _init_connection(conn: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(json_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection goes back to the pool with: as it is.

    asyncpg has already rolled back a transaction left open. Its default reset — one more round
    trip on every release, a tenth of a request's — would drop session state, and the kernel
    leaves none behind: every lock of a unit of work is transaction-scoped, LISTEN runs on a
    connection of its own (``connect``), and ``UnitsOfWork.exclusive``, the one session lock
    on a pool connection, releases it or closes the connection.
    """


async def create_pool(database_url: str, schema: str, *, min_size: int = 1, max_size: int = 10,
                      read_only: bool = False, name: str | None = None) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first on their search path; with ``read_only``, a
    pool of sessions that refuse every write (each statement is a read-only transaction).
    ``name`` labels its wait in ``shebao_db_pool_wait_seconds`` (default ``units``, or ``readers``)
    and ends its sessions' ``application_name`` (``shebao-<schema>-<name>``)."""
    check_schema_name(schema)
    settings = {"search_path": f"{schema},public", "application_name": f"shebao-{schema}"}
    if read_only:
        settings |= {"default_transaction_read_only": "on", "application_name": f"shebao-{schema}-reader"}
    if name is not None:
        settings["application_name"] = f"shebao-{schema}-{name}"
    label = name or ("readers" if read_only else "units")
    # asyncpg.create_pool's own defaults, spelled out: it builds a plain Pool, and this one measures
    return await MeasuredPool(
        database_url,
        waited=metrics.DB_POOL_WAIT.labels(schema, label),
        shed=metrics.DB_POOL_SHED.labels(schema, label),
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings=settings,
    )


class MeasuredPool(asyncpg.Pool):
    """An asyncpg pool that serves its waiters first come, first served, and observes how long each
    ``async with pool.acquire()`` waited for its connection (``shebao_db_pool_wait_seconds``), a new
    connection's opening included.

    A pool whose connections are all taken is a queue of its own, in front of the database and
    apart from the event loop: under load a payment waited up to 2.8 s here for one of billing's
    ten while its transactions took 0.1 s (README, Performance).

    asyncpg's own queue (an ``asyncio.LifoQueue``) is not fair: a released connection wakes the
    first waiter, but a request arriving before that waiter runs takes the connection, and the
    waiter goes back to the end of the line. Under a load that keeps every connection busy some
    requests waited that way until the load stopped — 10 s and more while the median was 0.1 s
    (issue 13). ``turns``, a semaphore with one turn per connection, makes the line: Python's
    hands a released turn to its first waiter, and a request that finds anyone waiting waits too.
    A task waits in that line no longer than its ``POOL_WAIT_LIMIT`` (``PoolBusy``, counted in ``shed``).
    """

    __slots__ = ("waited", "shed", "turns")

    def __init__(self, *connect_args, waited, shed, max_size: int, **options) -> None:
        super().__init__(*connect_args, max_size=max_size, **options)
        self.waited = waited
        self.shed = shed
        self.turns = asyncio.Semaphore(max_size)

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return _MeasuredAcquire(self, timeout)


class _MeasuredAcquire(PoolAcquireContext):
    __slots__ = ()

    async def __aenter__(self) -> asyncpg.Connection:
        asked_at = time.perf_counter()
        await self._wait_for_a_turn()
        if POOL_WAIT_LIMIT.get() is not None:
            # the request's work has begun: shedding it later would waste what is done (a payment's
            # read of its payer), so its next turns are waited for however long they take
            POOL_WAIT_LIMIT.set(None)
        try:
            connection = await super().__aenter__()
        except BaseException:
            self.pool.turns.release()
            raise
        self.pool.waited.observe(time.perf_counter() - asked_at)
        return connection

    async def __aexit__(self, *exc) -> None:
        try:
            await super().__aexit__(*exc)
        finally:
            self.pool.turns.release()

    async def _wait_for_a_turn(self) -> None:
        """Take a turn: at once if one is free and no one waits, else in line — until ``acquire``'s
        own timeout (``TimeoutError``, as asyncpg's) or the task's ``POOL_WAIT_LIMIT`` (``PoolBusy``)."""
        turns = self.pool.turns
        if not turns.locked():
            await turns.acquire()
            return
        limit = self.timeout if self.timeout is not None else POOL_WAIT_LIMIT.get()
        try:
            async with asyncio.timeout(limit):
                await turns.acquire()
        except TimeoutError:
            if self.timeout is not None:
                raise
            self.pool.shed.inc()
            raise PoolBusy(limit) from None


async def connect(database_url: str, schema: str) -> asyncpg.Connection:
    """One connection bound to ``schema`` (for LISTEN and one-off jobs)."""
    check_schema_name(schema)
    conn = await asyncpg.connect(
        database_url, server_settings={"search_path": f"{schema},public", "application_name": f"shebao-{schema}"}
    )
    await _init_connection(conn)
    return conn


def load_migrations(source: str, directory: Path) -> list[Migration]:
    """The numbered SQL files of ``directory``, in order; a misnamed file is an error."""
    migrations = []
    for path in sorted(Path(directory).glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path} must be named NNN_name.sql")
        migrations.append(Migration(source, int(match.group(1)), path.stem, path.read_text()))
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return migrations


async def apply_migrations(database_url: str, schema: str, service_dir: Path | None) -> list[str]:
    """Create ``schema`` and apply every pending kernel and service migration.

    Returns the names of the migrations applied now (empty when already up to date).
    """
    check_schema_name(schema)
    migrations = load_migrations("kernel", KERNEL_MIGRATIONS)
    if service_dir is not None:
        migrations += load_migrations("service", service_dir)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"shebao.migrations.{schema}")
        try:
            return await _apply_pending(conn, schema, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"shebao.migrations.{schema}")
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    # A service's own role may own its schema without the right to create schemas (deploy/postgres).
    if not await conn.fetchval("SELECT true FROM pg_namespace WHERE nspname = $1", schema):
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                source text NOT NULL, version int NOT NULL, name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, version))"""
    )
    rows = await conn.fetch(f"SELECT source, version FROM {schema}.schema_migrations")
    done = {(row["source"], row["version"]) for row in rows}
    applied = []
    for migration in migrations:
        if (migration.source, migration.version) in done:
            continue
        async with conn.transaction():
            await conn.execute(f"SET LOCAL search_path TO {schema}, public")
            await conn.execute(migration.sql)
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (source, version, name) VALUES ($1, $2, $3)",
                migration.source, migration.version, migration.name,
            )
        applied.append(f"{migration.source}/{migration.name}")
    return applied
