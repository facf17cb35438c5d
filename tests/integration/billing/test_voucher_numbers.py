"""Voucher numbers come from blocks of the region's yearly series that a process reserves apart
from the payments' transactions (when none is free, or ahead once half a block is used): distinct,
each in a recorded block, and without a queue on the counter nor on the payments' pool."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from services.billing.app import SERVICE
from services.billing.operations.voucher_numbers import HOLDER, numbers_of
from tests.integration.billing.story import BEIJING, an_active_enrolment, on, pay
from tests.integration.harness import eventually
from tests.service_harness import running_service

pytestmark = pytest.mark.integration


def _sequence(voucher_no: str) -> tuple[str, int]:
    """("310000-2025", 42) of "310000-2025-00000042"."""
    series, number = voucher_no.rsplit("-", 1)
    return series, int(number)


async def _blocks(billing, region: str, year: int) -> list[tuple[int, int, str]]:
    async with billing.runtime.pool.acquire() as conn:
        rows = await conn.fetch("SELECT first_no, last_no, holder FROM voucher_blocks WHERE region = $1 AND year = $2 "
                                "ORDER BY first_no", region, year)
    return [(row["first_no"], row["last_no"], row["holder"]) for row in rows]


async def _pay_each(billing, persons, *, concurrently: bool) -> list[int]:
    payments = [pay(billing, person, "100.00", paid_at=on("2025-08-05")) for person in persons]
    if concurrently:
        paid = await asyncio.gather(*payments)
    else:
        paid = [await payment for payment in payments]
    return [_sequence(payment["voucher_no"])[1] for payment in paid]


async def test_concurrent_payments_take_distinct_numbers_of_blocks_this_process_recorded(billing):
    persons = [await an_active_enrolment(billing, region=BEIJING, start="2025-07") for _ in range(12)]

    numbers = await _pay_each(billing, persons, concurrently=True)

    assert len(set(numbers)) == 12
    blocks = await _blocks(billing, BEIJING, 2025)
    assert all(holder == HOLDER for _, _, holder in blocks)
    assert all(any(first <= n <= last for first, last, _ in blocks) for n in numbers)
    assert all(last - first + 1 == billing.settings.voucher_block_size for first, last, _ in blocks)


async def test_payments_that_find_no_number_at_once_share_the_first_block(infrastructure):
    name = f"v{uuid.uuid4().hex[:10]}"
    async with running_service(infrastructure, SERVICE, prefix=f"{name}.") as billing:
        persons = [await an_active_enrolment(billing, region=BEIJING, start="2025-07") for _ in range(8)]

        numbers = await _pay_each(billing, persons, concurrently=True)

        # in their own transactions, each payment would reserve a block of its own, one after another
        assert sorted(numbers) == list(range(1, 9))
        assert (await _blocks(billing, BEIJING, 2025))[0] == (1, billing.settings.voucher_block_size, HOLDER)


async def test_a_block_is_reserved_apart_while_every_connection_of_the_pool_is_held(billing):
    series, pool = (BEIJING, 2031), billing.runtime.pool
    waits_aside = _aside_waits(billing)
    held = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        reserved = await asyncio.wait_for(
            numbers_of(billing.runtime.units).reserved(series, billing.runtime.units, 5), timeout=10)
    finally:
        for conn in held:
            await pool.release(conn)

    assert reserved
    assert await _blocks(billing, *series) == [(1, 5, HOLDER)]
    assert numbers_of(billing.runtime.units).free(series) == [1, 2, 3, 4, 5]
    # on the pool aside (an earlier test's reservation ahead may have used it too)
    assert _aside_waits(billing) >= waits_aside + 1
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                   f"shebao-{billing.settings.schema}-aside") >= 1


def _aside_waits(billing) -> float:
    return REGISTRY.get_sample_value("shebao_db_pool_wait_seconds_count",
                                     {"service": billing.settings.schema, "pool": "aside"}) or 0.0


async def test_the_rest_of_a_block_serves_the_next_payments_without_reserving_another(billing):
    numbers, series = numbers_of(billing.runtime.units), (BEIJING, 2025)
    for _ in range(2):  # a payment that takes a block's last number leaves none: the next reserves 20
        await _pay_each(billing, [await an_active_enrolment(billing, start="2025-07")], concurrently=False)
        if numbers.free(series):
            break
    blocks, free = await _blocks(billing, BEIJING, 2025), numbers.free(series)

    [next_number] = await _pay_each(billing, [await an_active_enrolment(billing, start="2025-07")],
                                    concurrently=False)

    assert await _blocks(billing, BEIJING, 2025) == blocks
    assert next_number == free[0]
    assert numbers.free(series) == free[1:]


async def test_a_block_size_of_one_is_the_strict_series_in_commit_order(infrastructure):
    name = f"v{uuid.uuid4().hex[:10]}"
    async with running_service(infrastructure, SERVICE, prefix=f"{name}.", voucher_block_size=1) as billing:
        persons = [await an_active_enrolment(billing, region=BEIJING, start="2025-07") for _ in range(8)]

        numbers = await _pay_each(billing, persons[:3], concurrently=False)
        numbers += await _pay_each(billing, persons[3:], concurrently=True)

        assert numbers[:3] == [1, 2, 3]
        assert sorted(numbers) == list(range(1, 9))
        assert [(first, last) for first, last, _ in await _blocks(billing, BEIJING, 2025)] == [
            (n, n) for n in range(1, 9)]


async def test_the_next_block_is_reserved_ahead_once_fewer_than_half_a_block_is_free(infrastructure):
    name = f"v{uuid.uuid4().hex[:10]}"
    async with running_service(infrastructure, SERVICE, prefix=f"{name}.", voucher_block_size=4) as billing:
        numbers, series = numbers_of(billing.runtime.units), (BEIJING, 2025)
        persons = [await an_active_enrolment(billing, region=BEIJING, start="2025-07") for _ in range(5)]

        taken = await _pay_each(billing, persons[:2], concurrently=False)  # 3, 2 of the first block left
        blocks_while_half_free = await _blocks(billing, BEIJING, 2025)
        taken += await _pay_each(billing, persons[2:3], concurrently=False)  # 1 left: the next is reserved
        await eventually(lambda: _block_count(billing, 2), timeout_s=10, interval_s=0.02)
        free_after_reserving = numbers.free(series)
        taken += await _pay_each(billing, persons[3:], concurrently=False)

        assert [(first, last) for first, last, _ in blocks_while_half_free] == [(1, 4)]
        assert free_after_reserving == [4, 5, 6, 7, 8]
        assert taken == [1, 2, 3, 4, 5]
        assert await _blocks(billing, BEIJING, 2025) == [(1, 4, HOLDER), (5, 8, HOLDER)]


async def _block_count(billing, count: int) -> bool:
    return len(await _blocks(billing, BEIJING, 2025)) == count
