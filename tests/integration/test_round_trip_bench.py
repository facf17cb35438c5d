"""``bench/round_trip.py`` against the session's PostgreSQL: both transports measured, and the
server's CPU read from the backend that served the round trips."""

from __future__ import annotations

import pytest

from bench.round_trip import one_round, transports

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
