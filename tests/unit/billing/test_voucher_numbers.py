"""The free voucher numbers of a process: smallest first, per series; a payment's claim gives
back a number it did not write."""

from __future__ import annotations

import asyncio

from services.billing.operations.voucher_numbers import VoucherClaim, VoucherNumbers
from services.billing.settings import BillingSettings

BEIJING_2026 = ("110000", 2026)


def test_free_numbers_are_handed_out_smallest_first_per_series():
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, [45, 41, 43])
    numbers.add(("310000", 2026), range(1, 3))

    assert [numbers.take(BEIJING_2026) for _ in range(4)] == [41, 43, 45, None]
    assert numbers.free(("310000", 2026)) == [1, 2]


def _claim_one(numbers: VoucherNumbers) -> tuple[VoucherClaim, int]:
    claim = VoucherClaim(numbers, BillingSettings())
    return claim, asyncio.run(claim.number(None, *BEIJING_2026))  # a free number: no database needed


def test_a_payment_that_did_not_write_its_number_gives_it_back():
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, [7, 8])
    claim, number = _claim_one(numbers)

    claim.unused()

    assert number == 7
    assert numbers.free(BEIJING_2026) == [7, 8]


def test_a_committed_payment_keeps_its_number():
    numbers = VoucherNumbers()
    numbers.add(BEIJING_2026, [7, 8])
    claim, number = _claim_one(numbers)

    claim.committed()

    assert number == 7
    assert numbers.free(BEIJING_2026) == [8]
