"""A service's database pool is a line, against the real database: requests that wait for a
connection get one in the order they asked (issue 13: some were passed over until the load
stopped), and an HTTP request waits in it no longer than ``SHEBAO_DB_POOL_WAIT_LIMIT_S`` — then
``503 service_busy`` — while consumers and jobs wait their turn however long it takes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from services.billing.app import SERVICE as BILLING
from shared.db import POOL_WAIT_LIMIT, PoolBusy, create_pool
from tests.service_harness import running_service


def shed(service: str, pool: str) -> float:
    return REGISTRY.get_sample_value("shebao_db_pool_shed_total", {"service": service, "pool": pool}) or 0.0


async def one_statement(pool) -> int:
    """``SELECT 1`` on a connection of ``pool``, waiting for one as any unit of work does."""
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT 1")


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


async def test_a_limited_wait_ends_busy_and_the_line_goes_on_without_it(infrastructure, unique_name):
    """The only connection is held: a task with a wait limit of 0.2 s is told the pool is busy
    (counted as shed) after waiting that long; one without a limit waits until the connection
    comes back, and gets it."""
    pool = await create_pool(infrastructure.database_url, unique_name, max_size=1)
    loop = asyncio.get_running_loop()

    try:
        shed_before = shed(unique_name, "units")
        async with pool.acquire():
            limited = POOL_WAIT_LIMIT.set(0.2)
            try:
                asked_at = loop.time()
                with pytest.raises(PoolBusy) as busy:
                    await one_statement(pool)
                waited = loop.time() - asked_at
            finally:
                POOL_WAIT_LIMIT.reset(limited)
            patient = asyncio.create_task(one_statement(pool))
            await asyncio.sleep(0.3)
            assert not patient.done(), "a task without a limit gave up waiting"
        assert await patient == 1
        assert not pool.turns.locked(), "a turn was lost with the task that gave up"
        assert await one_statement(pool) == 1
    finally:
        await pool.close()

    assert waited >= 0.19
    assert busy.value.status == 503 and busy.value.code == "service_busy"
    assert shed(unique_name, "units") - shed_before == 1


async def test_once_a_task_has_had_a_connection_its_later_waits_are_not_cut_short(infrastructure, unique_name):
    """A request whose work has begun (a payment that read its payer) is not shed half way: with a
    limit of 0.2 s, its first connection comes at once, and its second, held by another task for
    0.5 s, is waited for."""
    pool = await create_pool(infrastructure.database_url, unique_name, max_size=1)
    held = asyncio.Event()

    async def hold_the_only_connection() -> None:
        async with pool.acquire():
            held.set()
            await asyncio.sleep(0.5)

    limited = POOL_WAIT_LIMIT.set(0.2)
    try:
        assert await one_statement(pool) == 1
        holder = asyncio.create_task(hold_the_only_connection())
        await held.wait()
        assert await one_statement(pool) == 1
        await holder
    finally:
        POOL_WAIT_LIMIT.reset(limited)
        await pool.close()


async def test_a_request_that_finds_every_connection_taken_is_answered_503_busy(infrastructure, unique_name):
    """Billing with one read-only connection, held elsewhere: a caseworker's look-up of a person's
    bills waits 0.3 s (``SHEBAO_DB_POOL_WAIT_LIMIT_S``) and is answered ``503 service_busy`` with
    ``Retry-After``; once the connection is back the same look-up is answered (404: no such person)."""
    async with running_service(infrastructure, BILLING, prefix=f"{unique_name}.", db_pool_max=1,
                               db_pool_wait_limit_s=0.3) as billing:
        url = f"/v1/persons/{uuid.uuid4()}/bills"
        schema = billing.settings.schema
        shed_before = shed(schema, "readers")
        async with billing.runtime.readers.acquire():
            # without the limit it would wait for ever: 10 s is the test's own bound
            busy = await asyncio.wait_for(billing.client.get(url, headers=billing.auth("caseworker")), 10)
        answered = await billing.client.get(url, headers=billing.auth("caseworker"))

    assert busy.status_code == 503
    assert busy.json()["error"] == "service_busy"
    assert "0.3 s" in busy.json()["detail"][0]["reason"]
    assert busy.headers["retry-after"] == "1"
    assert shed(schema, "readers") - shed_before == 1
    assert answered.status_code == 404
