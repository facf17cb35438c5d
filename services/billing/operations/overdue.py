"""The overdue scan for a business date, and the announcement of settled arrears."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import asyncpg
import structlog

from services.billing.domain.late_fee import (
    OVERDUE_LEVELS,
    SettledArrears,
    days_overdue,
    late_fee_to_date,
    settled_arrears,
)
from services.billing.operations.common import Service, in_chunks, rehearsed_if
from services.billing.repository import overdue as repo
from shared.events import ArrearsSettled, PaymentOverdue
from shared.periods import now_utc
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

SCAN_LOCK = "overdue-scan"


@dataclass(frozen=True)
class ScanReport:
    as_of: date
    notices: int
    missed: int
    settled: int
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "notices": self.notices, "missed": self.missed,
                "settled": self.settled, "dry_run": self.dry_run}


async def scan_overdue(service: Service, as_of: date, regions: list[str] | None = None, *,
                       dry_run: bool = False) -> ScanReport:
    """Bills unpaid after due date + grace become overdue; a ``PaymentOverdue`` goes out when a
    bill reaches a level (1, 30, 60, 90 days) it had not reached before — the highest one
    reached, once. Where back-payment is not allowed, bills past the limit are missed. A dry run
    reports the same figures and changes nothing."""
    async with rehearsed_if(service, dry_run) as service:
        report = replace(await _scan_overdue(service, as_of, regions), dry_run=dry_run)
    log.info("overdue scan done", **report.as_dict())
    return report


async def _scan_overdue(service: Service, as_of: date, regions: list[str] | None) -> ScanReport:
    totals = {"notices": 0, "missed": 0, "settled": 0}
    settled_at = now_utc()

    async def scan(uow: UnitOfWork, persons: list[uuid.UUID]) -> None:
        await repo.lock_persons(uow.conn, persons)
        totals["missed"] += await repo.mark_missed(uow.conn, persons, as_of)
        for item in await repo.escalate(uow.conn, persons, as_of, OVERDUE_LEVELS):
            uow.emit(payment_overdue(item, as_of), subject=str(item.bill_id), region=item.region)
            totals["notices"] += 1
        totals["settled"] += await settle_arrears(uow, persons, settled_at)

    async with service.units.read() as uow:
        unpaid = await repo.any_unpaid_past_due(uow.conn, as_of, regions)
    if unpaid:
        await in_chunks(service, SCAN_LOCK, repo.UNPAID_PAST_DUE, (as_of, regions), scan)
    return ScanReport(as_of, **totals)


def payment_overdue(item: repo.Escalation, as_of: date) -> PaymentOverdue:
    """The notice of a bill that reached a new overdue level on ``as_of``."""
    fee = late_fee_to_date(item.frozen_accrual, item.unpaid_principal, item.late_fee_daily_rate,
                           item.accrued_through, as_of)
    return PaymentOverdue(
        bill_id=item.bill_id, person_id=item.person_id, programmes=tuple(item.programmes), due_date=item.due_date,
        days_overdue=days_overdue(item.due_date, as_of), level=item.level, unpaid_principal=item.unpaid_principal,
        late_fee_to_date=max(fee - item.late_fee_paid, Decimal("0.00")),
    )


async def settle_arrears(
    uow: UnitOfWork, persons: list[uuid.UUID], settled_at: datetime, *,
    correlation_id: uuid.UUID | None = None, causation_id: uuid.UUID | None = None,
) -> int:
    """Emit ``ArrearsSettled`` for each person who has no overdue bill left but had some settled
    (paid, or missed where back-payment is not allowed) since the last announcement; returns
    how many. ``correlation_id``/``causation_id``: the event that settled them, if not the unit's
    origin (the payment's ``PremiumPaid``)."""
    settlements = await arrears_settled(uow.conn, persons, settled_at)
    announce_settled_arrears(uow, settlements, settled_at, correlation_id=correlation_id, causation_id=causation_id)
    return len(settlements)


async def arrears_settled(conn: asyncpg.Connection, persons: list[uuid.UUID], settled_at: datetime
                          ) -> list[SettledArrears]:
    """The persons' arrears settled since the last announcement, marked reported at ``settled_at``:
    the first half of ``settle_arrears``, for a caller that announces them later in its unit."""
    if not persons:
        return []
    return await mark_reported(conn, settled_arrears(await repo.arrears_bills(conn, persons)), settled_at)


async def mark_reported(conn: asyncpg.Connection, settlements: list[SettledArrears], settled_at: datetime
                        ) -> list[SettledArrears]:
    """Mark the bills of ``settlements`` reported at ``settled_at``; returns the settlements."""
    reported = [bill_id for settled in settlements for bill_id in settled.bill_ids]
    if reported:
        await repo.mark_arrears_reported(conn, reported, settled_at)
    return settlements


def announce_settled_arrears(uow: UnitOfWork, settlements: list[SettledArrears], settled_at: datetime, *,
                             correlation_id: uuid.UUID | None = None, causation_id: uuid.UUID | None = None) -> None:
    """One ``ArrearsSettled`` per settlement found by ``arrears_settled``."""
    for settled in settlements:
        uow.emit(ArrearsSettled(person_id=settled.person_id, programmes=settled.programmes, settled_at=settled_at),
                 subject=str(settled.person_id), region=settled.region,
                 correlation_id=correlation_id, causation_id=causation_id)
