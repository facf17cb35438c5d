"""Voucher numbers for payments, from blocks of the region's yearly series.

A region's series is one counter row (``voucher_counters``). Taking one number per payment in
the payment's transaction would keep that row locked until the commit, and every payment of the
region would queue behind it. Instead a process reserves a block of ``voucher_block_size``
numbers in one statement of its own, on a connection apart from the payments' pool
(``UnitsOfWork.aside``), and hands them out, smallest first, with no lock at all.

A payment that finds no number free waits for the reservation in flight (starting it if there is
none): all the payments of that moment share one block. Once fewer than half a block is left, the
next is reserved ahead, so under a steady load no payment waits. The reservation never queues for
the payments' pool: there, it would wait behind the very payments that wait for it (under load at
2026-12-07, every connection of the pool was held by a payment without numbers, each reserving a
block of its own in its transaction, one after another on the counter's row: ten blocks at a time,
every second or two, and payments timed out). Only if a reservation apart fails does a payment
reserve a block in its own transaction.

A number handed out is void if its payment fails after taking it (only a payment that found its
channel transaction recorded meanwhile gives it back), and so are the numbers a process still
holds when it stops. ``voucher_blocks`` records every block and its holder, so each number of a
series is on a voucher (or a refund) or in a block whose holder has gone. A block size of 1 is
the strict series: one number per payment, reserved in its transaction, in commit order, none
void; so is a dry run (its units share one connection).
"""

from __future__ import annotations

import asyncio
import heapq
import os
import socket
import weakref

import asyncpg
import structlog

from services.billing.repository import payments as repo
from services.billing.settings import BillingSettings
from shared.unit_of_work import UnitsOfWork

log = structlog.get_logger(__name__)

Series = tuple[str, int]  # (region, year)

# who reserved a block, as voucher_blocks records it: this process
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class VoucherNumbers:
    """The numbers of committed blocks this process has not handed out yet, per series."""

    def __init__(self) -> None:
        self._free: dict[Series, list[int]] = {}
        self._reserving: dict[Series, asyncio.Task] = {}

    def take(self, series: Series) -> int | None:
        """The smallest free number of ``series``, or None when the process has none left."""
        free = self._free.get(series)
        return heapq.heappop(free) if free else None

    def add(self, series: Series, numbers: range | list[int]) -> None:
        """Numbers of ``series`` that are this process's to hand out."""
        free = self._free.setdefault(series, [])
        for number in numbers:
            heapq.heappush(free, number)

    def free(self, series: Series) -> list[int]:
        """The free numbers of ``series``, in order."""
        return sorted(self._free.get(series, ()))

    def refill_when_low(self, series: Series, units: UnitsOfWork | None, block_size: int) -> asyncio.Task | None:
        """Reserve the next block of ``series`` in the background once fewer than half a block is
        free (one reservation at a time per series); returns the reservation started, if any."""
        if (not reserves_apart(units, block_size) or series in self._reserving
                or 2 * len(self._free.get(series, ())) >= block_size):
            return None
        return self._reservation(series, units, block_size)

    async def reserved(self, series: Series, units: UnitsOfWork, block_size: int) -> bool:
        """Wait for the reservation of ``series`` in flight, started if there is none; whether it
        brought a block."""
        return await asyncio.shield(self._reservation(series, units, block_size))

    def _reservation(self, series: Series, units: UnitsOfWork, block_size: int) -> asyncio.Task:
        reservation = self._reserving.get(series)
        if reservation is None:
            reservation = asyncio.create_task(self._reserve(series, units, block_size))
            self._reserving[series] = reservation
            reservation.add_done_callback(lambda _: self._reserving.pop(series, None))
        return reservation

    async def _reserve(self, series: Series, units: UnitsOfWork, block_size: int) -> bool:
        try:
            async with units.aside() as conn:  # one statement: its own transaction
                block = await repo.reserve_voucher_block(conn, *series, block_size, HOLDER)
        except Exception as error:  # a payment that finds none then reserves in its own transaction
            log.warning("voucher block not reserved apart", region=series[0], year=series[1],
                        error=f"{type(error).__name__}: {error}")
            return False
        self.add(series, block)
        return True


def reserves_apart(units: UnitsOfWork | None, block_size: int) -> bool:
    """Whether blocks are reserved apart from the payments' transactions: not for the strict series
    (a number only in its payment's commit order) nor in a dry run (its units share one connection)."""
    return units is not None and units.side_by_side and block_size > 1


_PER_SERVICE: weakref.WeakKeyDictionary[UnitsOfWork, VoucherNumbers] = weakref.WeakKeyDictionary()


def numbers_of(units: UnitsOfWork) -> VoucherNumbers:
    """The free numbers of the service whose units of work these are (one set per running service)."""
    return _PER_SERVICE.setdefault(units, VoucherNumbers())


class VoucherClaim:
    """The voucher number one payment takes, and what becomes of it when the payment's
    transaction ends: ``committed()`` frees the rest of a block it reserved, ``unused()`` gives
    back a number it took from the free ones."""

    def __init__(self, numbers: VoucherNumbers, settings: BillingSettings, units: UnitsOfWork | None = None) -> None:
        self._numbers = numbers
        self._units = units  # where blocks are reserved apart (None: in the payment's transaction)
        self._block_size = settings.voucher_block_size
        self._series: Series | None = None
        self._taken: int | None = None
        self._rest_of_block: range = range(0)

    async def number(self, conn: asyncpg.Connection, region: str, year: int) -> int:
        """A number of the region's series for ``year``, for the payment's transaction on ``conn``."""
        taken = await self.number_apart(region, year)
        if taken is not None:
            return taken
        block = await repo.reserve_voucher_block(conn, region, year, self._block_size, HOLDER)
        self._rest_of_block = block[1:]
        return block[0]

    async def number_apart(self, region: str, year: int) -> int | None:
        """A free number of the region's series for ``year``, waiting for a block reserved apart if
        none is free; None when blocks are not reserved apart or the reservation failed (the number
        is then the payment transaction's to reserve: ``number``)."""
        if self._series is not None:
            raise RuntimeError("a payment has one voucher number")
        self._series = series = (region, year)
        self._taken = self._numbers.take(series)
        while (self._taken is None and reserves_apart(self._units, self._block_size)
               and await self._numbers.reserved(series, self._units, self._block_size)):
            self._taken = self._numbers.take(series)  # None when other payments took the whole block
        if self._taken is not None:
            self._numbers.refill_when_low(series, self._units, self._block_size)
        return self._taken

    def committed(self) -> None:
        if self._series is not None:
            self._numbers.add(self._series, self._rest_of_block)

    def unused(self) -> None:
        """The number was not written (the transaction rolls back): one from the free ones goes
        back; a new block's rolls back with its block."""
        if self._series is not None and self._taken is not None:
            self._numbers.add(self._series, [self._taken])
        self._series, self._taken, self._rest_of_block = None, None, range(0)
