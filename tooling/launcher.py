"""``make run``: the whole platform on one machine.

Starts the embedded PostgreSQL (data under ``.shebao/``) and the Tansu broker unless
``DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` point at real ones, creates the topics,
applies every service's migrations, refills the embedded broker's topics from the
services' outboxes (``tooling.refill``: the broker keeps nothing across restarts, the
database does), records its addresses for the ``shebao`` CLI (``.shebao/platform.json``,
``tooling.platform_state``), then runs the four services as separate processes with their
output interleaved behind a service prefix. Ctrl-C stops everything.

Replicas: ``SHEBAO_REPLICAS=N make run`` starts N processes of every service. Replica 1 listens
on the service's port (8101…), replica k on that port + 100·(k−1) (8201, 8301, …): each its own
HTTP port, printed at start. The replicas of a service are members of one consumer group and
share the topics' partitions (``SHEBAO_TOPIC_PARTITIONS``, default 12 here: a group uses at
most as many members as partitions); one of them leads the outbox relay (a session advisory
lock in PostgreSQL, taken over when the leader dies) and the periodic jobs run once at a time
across them (``UnitsOfWork.exclusive``, idempotent runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from shared.db import apply_migrations
from shared.events import all_topics
from shared.settings import DEFAULT_PORTS, SERVICE_NAMES, Settings
from tooling import platform_state
from tooling.devstack import EmbeddedBroker, EmbeddedPostgres, die_with_parent, ensure_topics_sync
from tooling.refill import LOCAL_OUTBOX_RETENTION_DAYS, refill_topics

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
REPLICAS_ENV = "SHEBAO_REPLICAS"
PARTITIONS_ENV = "SHEBAO_TOPIC_PARTITIONS"
DEFAULT_PARTITIONS: int = Settings.model_fields["topic_partitions"].default  # 12, deploy/README.md "Partitions"
REPLICA_PORT_STEP = 100  # replica k of a service listens on its port + 100·(k-1)
# The platform's tables start empty and grow by hundreds of rows a second under load, and PostgreSQL
# keeps a statement's generic plan (made after its first executions) until the table is analyzed
# again: planned while the outbox held a page, the relay's claim read the whole outbox three times a
# pass, 0.5–1.6 ms instead of 0.2 ms once analyzed (README, Performance). Autovacuum looks every 5 s
# instead of every minute, so that plans follow the tables as they grow.
POSTGRES_SETTINGS = {"autovacuum_naptime": "5s"}
_COLOURS = {"enrollment": "36", "documents": "35", "billing": "33", "notifications": "32", "platform": "1"}


def instance_name(service: str, replica: int) -> str:
    """The process name of one replica: ``billing`` for the first, ``billing.2`` for the second."""
    return service if replica == 1 else f"{service}.{replica}"


def service_of(instance: str) -> str:
    """The service a replica's process name belongs to."""
    return instance.split(".", 1)[0]


def replicas_from_environment() -> int:
    """``SHEBAO_REPLICAS`` (default 1), refused unless a whole number from 1 to 16."""
    raw = os.environ.get(REPLICAS_ENV, "1").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 16:
        raise ValueError(f"{REPLICAS_ENV} must be a whole number from 1 to 16, not {raw!r}")
    return int(raw)


def say(source: str, line: str) -> None:
    """Print one line behind a coloured ``[source]`` prefix."""
    colour = _COLOURS.get(service_of(source), "0")
    prefix = f"\033[{colour}m{source:>13} |\033[0m" if sys.stdout.isatty() else f"{source:>13} |"
    print(f"{prefix} {line}", flush=True)


@dataclass
class Platform:
    """The embedded infrastructure plus the four service processes."""

    state_dir: Path
    database_url: str | None = None
    bootstrap_servers: str | None = None
    topic_prefix: str = ""
    partitions: int = DEFAULT_PARTITIONS
    pg_port: int | None = None
    broker_port: int | None = None
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    # processes per service; replica k > 1 listens on replica_ports[service][k-2], or port + 100·(k-1)
    replicas: int = 1
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    durable: bool = True
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    # each service's output to <output_dir>/<instance>.log instead of echoed (a load generator
    # sharing the process would otherwise spend its time printing the services' lines)
    output_dir: Path | None = None

    def embedded_postgres(self) -> EmbeddedPostgres:
        """The PostgreSQL the platform starts when given no ``database_url`` (not started yet)."""
        return EmbeddedPostgres(self.state_dir / "postgres", self.pg_port, durable=self.durable,
                                settings=POSTGRES_SETTINGS)

    def start_infrastructure(self) -> None:
        """Start (or reach) PostgreSQL and Kafka, create topics, apply all migrations."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.database_url is None:
            self.postgres = self.embedded_postgres()
            self.postgres.start(self.state_dir / "postgres.log")
            self.postgres.create_database("shebao")
            self.database_url = self.postgres.local_url("shebao")
            say("platform", f"embedded PostgreSQL on 127.0.0.1:{self.postgres.port} (data in {self.postgres.data_dir})")
        if self.bootstrap_servers is None:
            self.broker = EmbeddedBroker(self.broker_port)
            self.broker.start(self.state_dir / "broker.log")
            self.bootstrap_servers = self.broker.bootstrap_servers
            say("platform", f"embedded Tansu broker on {self.bootstrap_servers}")
        ensure_topics_sync(self.bootstrap_servers, all_topics(self.topic_prefix), self.partitions)
        for service in SERVICE_NAMES:
            applied = asyncio.run(apply_migrations(self.database_url, service, SERVICES_DIR / service / "migrations"))
            say("platform", f"{service}: {len(applied)} migration(s) applied")
        if self.broker is not None:
            self.refill_history()
        self.record_addresses()

    def refill_history(self) -> None:
        """Publish the services' sent events again to the new, empty embedded broker (``tooling.refill``)."""
        settings = Settings(kafka_bootstrap_servers=self.bootstrap_servers, database_url=self.database_url,
                            topic_prefix=self.topic_prefix)
        with tqdm(desc="refilling topics from the outboxes", unit="event", file=sys.stderr, disable=None,
                  leave=False) as bar:
            def on_progress(done: int, total: int) -> None:
                bar.total, bar.n = total, done
                bar.refresh()

            refilled = asyncio.run(refill_topics(settings, SERVICE_NAMES, all_topics(self.topic_prefix),
                                                 on_progress=on_progress))
        per_topic = ", ".join(f"{topic} {n}" for topic, n in refilled.by_topic.items()) or "nothing to refill"
        say("platform", f"history refilled from the outboxes: {refilled.count} event(s) ({per_topic})")
        for topic, n in refilled.skipped.items():
            say("platform", f"not refilled: {n} event(s) of topic {topic}, not a topic of this deployment")

    def record_addresses(self) -> None:
        """Write the state file the ``shebao`` CLI finds this platform by (``tooling.platform_state``)."""
        platform_state.record(self.state_dir, platform_state.PlatformAddresses(
            bootstrap_servers=self.bootstrap_servers, database_url=self.database_url,
            topic_prefix=self.topic_prefix, ports=dict(self.ports), pid=os.getpid(),
            started_at=platform_state.now_stamp(), embedded_broker=self.broker is not None,
            embedded_postgres=self.postgres is not None,
        ))

    def http_port(self, service: str, replica: int = 1) -> int:
        """Where replica ``replica`` (1, 2, …) of ``service`` listens."""
        if replica == 1:
            return self.ports[service]
        listed = self.replica_ports.get(service, [])
        if len(listed) >= replica - 1:
            return listed[replica - 2]
        return self.ports[service] + REPLICA_PORT_STEP * (replica - 1)

    def http_ports(self, service: str) -> list[int]:
        """Every replica's port of ``service``, the first replica's first."""
        return [self.http_port(service, replica) for replica in range(1, self.replicas + 1)]

    def instance_port(self, instance: str) -> int:
        """The port of a running process, named as ``instance_name`` names it."""
        service, _, replica = instance.partition(".")
        return self.http_port(service, int(replica or 1))

    def service_env(self, service: str, replica: int = 1) -> dict[str, str]:
        """The environment one service process runs with."""
        return {
            **os.environ,
            "SHEBAO_SERVICE": service,
            "SHEBAO_HTTP_PORT": str(self.http_port(service, replica)),
            "SHEBAO_TOPIC_PREFIX": self.topic_prefix,
            "SHEBAO_TOPIC_PARTITIONS": str(self.partitions),
            "DATABASE_URL": self.database_url or "",
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers or "",
            "PYTHONUNBUFFERED": "1",
            **self._local_history_env(),
            **self.extra_env,
        }

    def _local_history_env(self) -> dict[str, str]:
        """With the embedded (in-memory) broker the outbox is the local history: keep all of it, unless
        the retention is set. Against a real broker the service's own default (7 days) holds."""
        if self.broker is None or "SHEBAO_OUTBOX_RETENTION_DAYS" in os.environ:
            return {}
        return {"SHEBAO_OUTBOX_RETENTION_DAYS": str(LOCAL_OUTBOX_RETENTION_DAYS)}

    def start_service(self, service: str, replica: int = 1) -> subprocess.Popen:
        """Start one replica of a service as its own process, its output echoed behind its
        prefix (``billing``, ``billing.2``, …: the key of ``processes``) or, with ``output_dir``,
        written to ``<output_dir>/<prefix>.log``."""
        name = instance_name(service, replica)
        command, env = [sys.executable, "-m", f"services.{service}"], self.service_env(service, replica)
        if self.output_dir is None:
            process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       bufsize=1, cwd=SERVICES_DIR.parent, preexec_fn=die_with_parent)
            threading.Thread(target=_echo, args=(name, process), daemon=True).start()
        else:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with open(self.output_dir / f"{name}.log", "ab") as output:
                process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                           cwd=SERVICES_DIR.parent, preexec_fn=die_with_parent)
        self.processes[name] = process
        return process

    def start_services(self) -> None:
        for service in SERVICE_NAMES:
            for replica in range(1, self.replicas + 1):
                self.start_service(service, replica)

    def wait_until_ready(self, timeout_s: float = 60.0) -> None:
        """Block until every service answers ``/readyz`` with 200."""
        deadline = time.monotonic() + timeout_s
        pending = set(self.processes)
        while pending:
            for service in sorted(pending):
                if self.processes[service].poll() is not None:
                    raise RuntimeError(f"{service} exited with code {self.processes[service].returncode}")
                if _is_ready(self.instance_port(service)):
                    pending.discard(service)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s} s: {sorted(pending)}")
            time.sleep(0.2)

    def stop_service(self, service: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(service, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        """Stop the services (SIGTERM, in parallel), then the broker and PostgreSQL."""
        platform_state.forget(self.state_dir)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for service in list(self.processes):
            self.stop_service(service)
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()


def _echo(service: str, process: subprocess.Popen) -> None:
    for line in process.stdout:
        say(service, line.rstrip("\n"))


def _is_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


PORTAL_PORT = 8100


def start_portal(platform: Platform, port: int = PORTAL_PORT) -> subprocess.Popen:
    """The browser portal (services/portal) beside the services, calling their HTTP APIs."""
    urls = {f"SHEBAO_PORTAL_{name.upper()}_URL": f"http://127.0.0.1:{p}" for name, p in platform.ports.items()}
    env = {**os.environ, "SHEBAO_PORTAL_PORT": str(port), "SHEBAO_PORTAL_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "PYTHONUNBUFFERED": "1", **urls}
    process = subprocess.Popen([sys.executable, "-m", "services.portal"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1, cwd=SERVICES_DIR.parent,
                               preexec_fn=die_with_parent)
    threading.Thread(target=_echo, args=("portal", process), daemon=True).start()
    say("platform", f"portal: http://127.0.0.1:{port}/ (development sign-in at /signin)")
    return process


def run(state_dir: Path) -> int:
    """Run the platform in the foreground until Ctrl-C or a service dies."""
    pg_port, broker_port = platform_state.embedded_ports()
    platform = Platform(
        state_dir=state_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
        topic_prefix=os.environ.get("SHEBAO_TOPIC_PREFIX", ""),
        pg_port=pg_port,
        broker_port=broker_port,
        partitions=int(os.environ.get(PARTITIONS_ENV) or DEFAULT_PARTITIONS),
        replicas=replicas_from_environment(),
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    exit_code = 0
    portal: subprocess.Popen | None = None
    try:
        platform.start_infrastructure()
        platform.start_services()
        platform.wait_until_ready()
        ports = ", ".join(f"{name} http://127.0.0.1:{port}" for name, port in platform.ports.items())
        say("platform", f"all services ready: {ports}. Ctrl-C stops everything.")
        say("platform", "metrics: " + ", ".join(f"http://127.0.0.1:{p}/metrics" for p in platform.ports.values()))
        if platform.replicas > 1:
            for service in SERVICE_NAMES:
                others = ", ".join(f"http://127.0.0.1:{port}" for port in platform.http_ports(service)[1:])
                say("platform", f"{service}: {platform.replicas} replicas, the others on {others}"
                                f" ({platform.partitions} partitions per topic)")
        portal = start_portal(platform)
        while not stopping.wait(0.5):
            dead = [name for name, proc in platform.processes.items() if proc.poll() is not None]
            if dead:
                say("platform", f"service(s) exited unexpectedly: {', '.join(dead)}; stopping")
                exit_code = 1
                break
    except Exception as error:
        say("platform", f"failed: {type(error).__name__}: {error}")
        exit_code = 1
    finally:
        say("platform", "stopping...")
        if portal is not None and portal.poll() is None:
            portal.terminate()
            portal.wait(10)
        platform.stop()
        say("platform", "stopped")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.launcher", description=__doc__)
    parser.add_argument("command", choices=["run"])
    default_state_dir = Path(os.environ.get(platform_state.STATE_DIR_ENV) or ".shebao")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir,
                        help="data of the embedded PostgreSQL, logs, and platform.json (default .shebao)")
    args = parser.parse_args(argv)
    return run(args.state_dir)


if __name__ == "__main__":
    sys.exit(main())
