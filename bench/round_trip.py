"""What one round trip to PostgreSQL costs on this machine, in CPU: the price every statement of
every request, job and consumed batch pays.

Machines of the same kind differ most here: the sending side of a round trip wakes the other
process, and what that costs differs from one virtual machine to the next (2026-12-07:
69–71 µs of the client's CPU a round trip on one 2-core VM, 33 µs on another). Read the HTTP
figures of a machine beside its round trip.

asyncpg runs ``SELECT $1::int`` ``--count`` times on one connection of a throw-away embedded
PostgreSQL (fsync off), over its Unix socket and over TCP in turn, ``--repeat`` rounds; per round
trip: the wall time, the client's CPU (this process) and the server's (the backend's, from
``/proc``). Then the same over the Unix socket with the client and its backend held on one CPU,
and on two different ones (``sched_setaffinity``; skipped where the machine has one CPU or the
backend may not be moved): what waking a process on the other CPU adds. Prints each one's median
with its range. Never fails on a time.
Usage: python bench/round_trip.py [--count 20000] [--repeat 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import spread  # noqa: E402
from bench.process_cpu import CpuMeter  # noqa: E402
from tooling.devstack import EmbeddedPostgres  # noqa: E402

WARM_UP = 200  # round trips first, uncounted: the statement prepared, the backend's caches filled
MEASURES = ("wall_us", "client_cpu_us", "server_cpu_us")
# where the client and its backend run: on the first CPU both, or the backend on the second
PLACEMENTS = {"one cpu": (0, 0), "two cpus": (0, 1)}


async def one_round(url: str, count: int, placement: tuple[int, int] | None = None) -> dict[str, float]:
    """Microseconds a round trip: wall, client CPU and server CPU; with ``placement``, the client on
    the first CPU it names and its backend on the second (indexes into the CPUs this process may use)."""
    conn = await asyncpg.connect(url)
    allowed = os.sched_getaffinity(0)
    try:
        backend_pid = await conn.fetchval("SELECT pg_backend_pid()")
        if placement is not None:
            pin(backend_pid, placement, sorted(allowed))
        backend = CpuMeter({"server": [backend_pid]})
        for i in range(WARM_UP):
            await conn.fetchval("SELECT $1::int", i)
        server_before, client_before, started = backend.read(), time.process_time(), time.perf_counter()
        for i in range(count):
            await conn.fetchval("SELECT $1::int", i)
        wall, client = time.perf_counter() - started, time.process_time() - client_before
        server = backend.read().seconds["server"] - server_before.seconds["server"]
    finally:
        await conn.close()
        os.sched_setaffinity(0, allowed)
    return {"wall_us": wall / count * 1e6, "client_cpu_us": client / count * 1e6,
            "server_cpu_us": server / count * 1e6}


def pin(backend_pid: int, placement: tuple[int, int], cpus: list[int]) -> None:
    """This process on ``cpus[placement[0]]``, the backend on ``cpus[placement[1]]``."""
    client_cpu, backend_cpu = (cpus[index] for index in placement)
    os.sched_setaffinity(backend_pid, {backend_cpu})
    os.sched_setaffinity(0, {client_cpu})


async def placements_possible(url: str) -> bool:
    """Whether this machine has two CPUs for this process and a backend can be moved to one."""
    if len(os.sched_getaffinity(0)) < 2:
        return False
    conn = await asyncpg.connect(url)
    try:
        backend_pid = await conn.fetchval("SELECT pg_backend_pid()")
        os.sched_setaffinity(backend_pid, os.sched_getaffinity(backend_pid))
        return True
    except PermissionError:
        return False
    finally:
        await conn.close()


def summarize(rounds: list[dict[str, float]]) -> dict:
    """Each measure's median and range over the rounds, to a tenth of a microsecond."""
    return {measure: spread([round_[measure] for round_ in rounds], 1) for measure in MEASURES}


def transports(postgres: EmbeddedPostgres) -> dict[str, str]:
    """The URLs measured: the Unix socket the platform's processes use when its path is short
    enough (``EmbeddedPostgres.local_url``), and TCP."""
    found = {"unix socket": postgres.local_url("postgres")} if postgres.socket_usable else {}
    return {**found, "tcp": postgres.url("postgres")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000, help="round trips a round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every transport in turn")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not 1 <= args.count <= 1_000_000 or not 1 <= args.repeat <= 20:
        parser.error("--count must be in [1, 1000000] and --repeat in [1, 20]")
    root = Path(tempfile.mkdtemp(prefix="shebao-round-trip-"))
    postgres = EmbeddedPostgres(root / "pg", durable=False)
    postgres.start(root / "postgres.log")
    try:
        urls = transports(postgres)
        local = next(iter(urls.values()))
        placements = PLACEMENTS if uvloop.run(placements_possible(local)) else {}
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in [*urls, *placements]}
        for _ in range(args.repeat):
            for name, url in urls.items():
                rounds[name].append(uvloop.run(one_round(url, args.count)))
            for name, placement in placements.items():
                rounds[name].append(uvloop.run(one_round(local, args.count, placement)))
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    figures = {name: summarize(measured) for name, measured in rounds.items()}
    print(f"\nSELECT $1 over asyncpg, {args.count:,} round trips a round, {args.repeat} round(s): "
          "µs a round trip, median (range)")
    print(f"{'transport':<14}" + "".join(f"{measure:>24}" for measure in MEASURES))
    for name, summary in figures.items():
        print(f"{name:<14}" + "".join(f"{_shown(summary[measure]):>24}" for measure in MEASURES))
    if not placements:
        print("(one CPU, or the backend may not be moved: no round trips held on one CPU and on two)")
    else:
        print(f"'one cpu' and 'two cpus': over {next(iter(urls))}, the client and its backend held on one"
              " CPU, then on two")
    if args.json is not None:
        args.json.write_text(json.dumps({"count": args.count, "repeat": args.repeat, "transports": figures,
                                         "rounds": rounds}, indent=2))
    return 0


def _shown(figure: dict[str, float]) -> str:
    return f"{figure['median']:.1f} ({figure['min']:.1f}–{figure['max']:.1f})"


if __name__ == "__main__":
    sys.exit(main())
