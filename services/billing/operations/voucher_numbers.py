"""Voucher numbers for payments, from blocks of the region's yearly series.

A region's series is one counter row (``voucher_counters``). Taking one number per payment in
the payment's transaction keeps that row locked until the commit, and every payment of the region
queues behind it: the limit of payments per second under load (``bench/http_load.py``). Instead
a process reserves a block of ``voucher_block_size`` numbers in the transaction of the payment
that first needs one, and that payment takes the block's first number. Once it commits, the rest
of the block is this process's to hand out, smallest first, with no lock at all; if it rolls
back, so does the block.

Once fewer than half a block is left, the process reserves the next block ahead, in a short
transaction of its own (``refill_when_low``): else, under load, every payment that finds the
numbers gone reserves a block of its own, and they queue on the counter's row, each until the
one before it commits (at 200 payments/s: 15 ms a reservation, most of it waiting). A payment
that still finds none reserves its own, as above; it never waits for the one ahead, which needs
a connection of the pool that the waiting payments could all be holding.

A number handed out is void if its payment fails after taking it (only a payment that found its
channel transaction recorded meanwhile gives it back), and so are the numbers a process still
holds when it stops. ``voucher_blocks`` records every block and its holder, so each number of a
series is on a voucher (or a refund) or in a block whose holder has gone. A block size of 1 is
the strict series: one number per payment in commit order, none void.
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

    def refill_when_low(self, series: Series, units: UnitsOfWork, block_size: int) -> asyncio.Task | None:
        """Reserve the next block of ``series`` in the background once fewer than half a block is
        free (one reservation at a time per series); returns the reservation started, if any.

        Not with a block size of 1 (the strict series: a number only in its payment's commit
        order) nor in a dry run (its units share one connection)."""
        if (block_size == 1 or not units.side_by_side or series in self._reserving
                or 2 * len(self._free.get(series, ())) >= block_size):
            return None
        reservation = asyncio.create_task(self._reserve(series, units, block_size))
        self._reserving[series] = reservation
        reservation.add_done_callback(lambda _: self._reserving.pop(series, None))
        return reservation

    async def _reserve(self, series: Series, units: UnitsOfWork, block_size: int) -> None:
        try:
            async with units.begin() as uow:
                block = await repo.reserve_voucher_block(uow.conn, *series, block_size, HOLDER)
        except Exception as error:  # the next payment that finds none reserves its own
            log.warning("voucher block not reserved ahead", region=series[0], year=series[1],
                        error=f"{type(error).__name__}: {error}")
            return
        self.add(series, block)


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
        self._units = units  # where the next block is reserved ahead (None: never ahead)
        self._block_size = settings.voucher_block_size
        self._series: Series | None = None
        self._taken: int | None = None
        self._rest_of_block: range = range(0)

    async def number(self, conn: asyncpg.Connection, region: str, year: int) -> int:
        """A number of the region's series for ``year``, inside the payment's transaction on ``conn``."""
        if self._series is not None:
            raise RuntimeError("a payment has one voucher number")
        self._series = (region, year)
        self._taken = self._numbers.take(self._series)
        if self._taken is not None:
            return self._taken
        block = await repo.reserve_voucher_block(conn, region, year, self._block_size, HOLDER)
        self._rest_of_block = block[1:]
        return block[0]

    def committed(self) -> None:
        if self._series is not None:
            self._numbers.add(self._series, self._rest_of_block)
            if self._units is not None:
                self._numbers.refill_when_low(self._series, self._units, self._block_size)

    def unused(self) -> None:
        """The number was not written (the transaction rolls back): one from the free ones goes
        back; a new block's rolls back with its block."""
        if self._series is not None and self._taken is not None:
            self._numbers.add(self._series, [self._taken])
        self._series, self._taken, self._rest_of_block = None, None, range(0)
