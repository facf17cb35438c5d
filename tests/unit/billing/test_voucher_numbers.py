"""The free voucher numbers of a process: smallest first, per series; a payment's claim gives
back a number it did not write, and waits for the block reserved apart when none is free."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from services.billing.operations import voucher_numbers
from services.billing.operations.voucher_numbers import VoucherClaim, VoucherNumbers
from services.billing.settings import BillingSettings

BEIJING_2026 = ("110000", 2026)


def test_free_numbers_are_handed_out_smallest_first_per_series():
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, [45, 41, 43])
    numbers.add(("310000", 2026), range(1, 3))

    assert [numbers.take(BEIJING_2026) for _ in range(4)] == [41, 43, 45, None]
    assert numbers.free(("310000", 2026)) == [1, 2]


@pytest.mark.parametrize(("end", "free_after"), [
    ("unused", [7, 8]),  # a payment that did not write its number gives it back
    ("committed", [8]),  # a committed payment keeps its number
])
def test_a_claim_from_the_free_numbers_keeps_or_gives_back_its_number(end, free_after):
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, [7, 8])
    claim = VoucherClaim(numbers, BillingSettings())
    number = asyncio.run(claim.number(None, *BEIJING_2026))  # a free number: no database needed

    getattr(claim, end)()

    assert number == 7
    assert numbers.free(BEIJING_2026) == free_after


class _Units:
    side_by_side = True


@pytest.mark.parametrize(("free", "block_size", "side_by_side"), [
    ([5, 6], 4, True),  # half a block is still free
    ([], 1, True),  # the strict series: a number only in its payment's commit order
    ([5], 4, False),  # a dry run: its units share one connection
])
def test_no_block_is_reserved_ahead_while_half_is_free_for_the_strict_series_or_in_a_dry_run(
        free, block_size, side_by_side):
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, free)
    units = _Units()
    units.side_by_side = side_by_side

    assert numbers.refill_when_low(BEIJING_2026, units, block_size) is None


class _UnitsAside:
    """Units whose connection aside is ``APART`` (no database: the repository is replaced)."""

    side_by_side = True

    @asynccontextmanager
    async def aside(self):
        yield APART


APART, PAYMENTS_OWN = "the connection aside", "the payment's connection"


def _counter(monkeypatch, *, failing_on: str | None = None) -> list[str]:
    """Blocks of 20 from 1 up, reserved on whichever connection: the connections they were asked on."""
    asked: list[str] = []

    async def reserve_voucher_block(conn, region, year, size, holder):
        asked.append(conn)
        await asyncio.sleep(0.01)  # the payments of this moment all find the numbers gone meanwhile
        if conn == failing_on:
            raise ConnectionError("the database went away")
        first = 1 + size * (len(asked) - 1)
        return range(first, first + size)

    monkeypatch.setattr(voucher_numbers.repo, "reserve_voucher_block", reserve_voucher_block)
    return asked


def test_payments_that_find_no_number_share_the_one_block_reserved_apart(monkeypatch):
    asked = _counter(monkeypatch)
    numbers, units = VoucherNumbers(), _UnitsAside()

    async def five_payments():
        claims = [VoucherClaim(numbers, BillingSettings(), units) for _ in range(5)]
        return await asyncio.gather(*(claim.number(PAYMENTS_OWN, *BEIJING_2026) for claim in claims))

    assert sorted(asyncio.run(five_payments())) == [1, 2, 3, 4, 5]
    assert asked == [APART]
    assert numbers.free(BEIJING_2026) == list(range(6, 21))


def test_a_payment_reserves_in_its_own_transaction_only_when_the_reservation_apart_failed(monkeypatch):
    asked = _counter(monkeypatch, failing_on=APART)
    numbers = VoucherNumbers()
    claim = VoucherClaim(numbers, BillingSettings(), _UnitsAside())

    number = asyncio.run(claim.number(PAYMENTS_OWN, *BEIJING_2026))
    claim.committed()

    assert asked == [APART, PAYMENTS_OWN]
    assert number == 21  # the second block asked for; the first failed
    assert numbers.free(BEIJING_2026) == list(range(22, 41))
