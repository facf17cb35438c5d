"""``bench/round_trip.py`` against the session's PostgreSQL: both transports measured, the
server's CPU read from the backend that served the round trips, and the client and its backend held
on the CPUs a placement names."""

from __future__ import annotations

import os

import asyncpg
import pytest

from bench.round_trip import one_round, pin, placements_possible, transports

pytestmark = pytest.mark.integration


async def test_a_round_trip_is_priced_on_the_unix_socket_and_on_tcp_with_the_backends_cpu(infrastructure):
    urls = transports(infrastructure.postgres)

    assert set(urls) == {"unix socket", "tcp"}
    assert "host=/" in urls["unix socket"] and "127.0.0.1" in urls["tcp"]
    for url in urls.values():
        # enough round trips for the backend's CPU to show in /proc's ticks (10 ms each)
        measured = await one_round(url, 3000)
        assert measured["wall_us"] > 0 and measured["client_cpu_us"] > 0
        assert measured["server_cpu_us"] > 0  # the backend's own CPU, from /proc (an unknown pid reads 0)


async def test_the_client_and_its_backend_are_held_on_the_cpus_asked_and_the_client_freed_after(infrastructure):
    url = transports(infrastructure.postgres)["unix socket"]
    allowed = os.sched_getaffinity(0)
    cpus = sorted(allowed)
    placement = (0, 1) if len(cpus) > 1 else (0, 0)  # the machines this runs on have two
    assert await placements_possible(url) == (len(cpus) > 1)

    conn = await asyncpg.connect(url)
    try:
        backend_pid = await conn.fetchval("SELECT pg_backend_pid()")
        pin(backend_pid, placement, cpus)
        assert os.sched_getaffinity(backend_pid) == {cpus[placement[1]]}
        assert os.sched_getaffinity(0) == {cpus[placement[0]]}
    finally:
        await conn.close()
        os.sched_setaffinity(0, allowed)

    measured = await one_round(url, 3000, placement)
    assert measured["client_cpu_us"] > 0 and measured["server_cpu_us"] > 0
    assert os.sched_getaffinity(0) == allowed  # the client runs wherever it could before
