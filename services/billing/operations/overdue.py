"""The overdue scan for a business date, and the announcement of settled arrears."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg
import structlog

from services.billing.domain.late_fee import OVERDUE_LEVELS, days_overdue, late_fee_to_date, settled_programmes
from services.billing.operations.common import Service, in_chunks
from services.billing.repository import overdue as repo
from shared.events import ArrearsSettled, Envelope, PaymentOverdue, make_envelope
from shared.periods import now_utc

log = structlog.get_logger(__name__)

SCAN_LOCK = "overdue-scan"


@dataclass(frozen=True)
class ScanReport:
    as_of: date
    notices: int
    missed: int
    settled: int

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "notices": self.notices, "missed": self.missed,
                "settled": self.settled}


async def scan_overdue(service: Service, as_of: date, regions: list[str] | None = None) -> ScanReport:
    """Bills unpaid after due date + grace become overdue; a ``PaymentOverdue`` goes out when a
    bill reaches a level (1, 30, 60, 90 days) it had not reached before — the highest one
    reached, once. Where back-payment is not allowed, bills past the limit are missed."""
    totals = {"notices": 0, "missed": 0, "settled": 0}
    settled_at = now_utc()

    async def scan(conn, persons) -> None:
        await repo.lock_persons(conn, persons)
        totals["missed"] += await repo.mark_missed(conn, persons, as_of)
        escalations = await repo.escalate(conn, persons, as_of, OVERDUE_LEVELS)
        notices = [payment_overdue(item, as_of) for item in escalations]
        settlements = await settle_arrears(conn, persons, settled_at)
        await service.outbox.add_events(conn, notices + settlements)
        totals["notices"] += len(notices)
        totals["settled"] += len(settlements)

    async with service.pool.acquire() as conn:
        unpaid = await repo.any_unpaid_past_due(conn, as_of, regions)
    if unpaid:
        await in_chunks(service, SCAN_LOCK, repo.UNPAID_PAST_DUE, (as_of, regions), scan)
    report = ScanReport(as_of, **totals)
    log.info("overdue scan done", **report.as_dict())
    return report


def payment_overdue(item: repo.Escalation, as_of: date) -> Envelope:
    fee = late_fee_to_date(item.frozen_accrual, item.unpaid_principal, item.late_fee_daily_rate,
                           item.accrued_through, as_of)
    payload = PaymentOverdue(
        bill_id=item.bill_id, person_id=item.person_id, programmes=tuple(item.programmes), due_date=item.due_date,
        days_overdue=days_overdue(item.due_date, as_of), level=item.level, unpaid_principal=item.unpaid_principal,
        late_fee_to_date=max(fee - item.late_fee_paid, Decimal("0.00")),
    )
    return make_envelope(payload, subject=str(item.bill_id), region=item.region)


async def settle_arrears(
    conn: asyncpg.Connection, persons: list[uuid.UUID], settled_at: datetime, **envelope_fields
) -> list[Envelope]:
    """``ArrearsSettled`` for each person who has no overdue bill left but had some settled
    (paid, or missed where back-payment is not allowed) since the last announcement."""
    if not persons:
        return []
    by_person: dict[uuid.UUID, list[repo.ArrearsBill]] = {}
    for bill in await repo.arrears_bills(conn, persons):
        by_person.setdefault(bill.person_id, []).append(bill)
    events, reported = [], []
    for person_id, bills in by_person.items():
        settled = [bill for bill in bills if not bill.still_overdue]
        programmes = settled_programmes([tuple(bill.programmes) for bill in settled],
                                        sum(bill.still_overdue for bill in bills))
        if not programmes:
            continue
        payload = ArrearsSettled(person_id=person_id, programmes=programmes, settled_at=settled_at)
        events.append(make_envelope(payload, subject=str(person_id), region=bills[0].region, **envelope_fields))
        reported += [bill.bill_id for bill in settled]
    if reported:
        await repo.mark_arrears_reported(conn, reported, settled_at)
    return events
