"""A service's database pool serves the requests that wait for a connection in the order they
asked, against the real database: under a load that keeps every connection busy, none is passed
over by those that came after it (issue 13: some waited that way until the load stopped)."""

from __future__ import annotations

import asyncio

from shared.db import create_pool


async def test_connections_go_to_the_requests_in_the_order_they_asked(infrastructure, unique_name):
    """Requests arrive every millisecond at a pool of two connections, each holding one for 5 ms:
    a line forms, and the order in which the requests got a connection is the order they asked."""
    pool = await create_pool(infrastructure.database_url, unique_name, min_size=2, max_size=2)
    asked: list[int] = []
    served: list[int] = []

    async def request(number: int) -> None:
        asked.append(number)
        async with pool.acquire() as conn:
            served.append(number)
            await conn.execute("SELECT pg_sleep(0.005)")

    try:
        requests = []
        for number in range(300):
            requests.append(asyncio.create_task(request(number)))
            await asyncio.sleep(0.001)
        await asyncio.gather(*requests)
    finally:
        await pool.close()

    assert len(served) == 300
    overtaken = [number for position, number in enumerate(asked) if served[position] != number]
    assert not overtaken, f"{len(overtaken)} requests got a connection after one that asked later"
