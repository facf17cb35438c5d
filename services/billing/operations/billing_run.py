"""The billing run for a business date: carry bases into policy versions that have taken
effect, then issue the bills of every cycle that starts within the billing horizon.

Set-based: per chunk of persons a few statements and one outbox write, never a round
trip per enrolment. Idempotent: a month of an enrolment is billed once (its next
unbilled month moves on in the same statement, and the lines' key forbids a second
bill), and a base is carried into a version once (its ``policy_from`` moves on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import structlog

from services.billing.domain.policy import Policy
from services.billing.domain.pricing import reprice
from services.billing.operations.common import Service, in_chunks
from services.billing.repository import billing_run as repo
from services.billing.repository.policies import all_policies
from shared.events import ContributionRepriced, Envelope, PremiumDue, make_envelope
from shared.periods import Month, now_utc

log = structlog.get_logger(__name__)

RUN_LOCK = "billing-run"


@dataclass(frozen=True)
class RunReport:
    as_of: date
    horizon: date
    repriced: int
    bills: int
    lines: int
    credit_applied: Decimal

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "horizon": self.horizon.isoformat(), "repriced": self.repriced,
            "bills": self.bills, "lines": self.lines, "credit_applied": f"{self.credit_applied:.2f}",
        }


async def run_billing(service: Service, as_of: date, regions: list[str] | None = None) -> RunReport:
    """Bill every cycle starting by ``as_of`` + the lead days (for ``regions``, or all)."""
    horizon = as_of + timedelta(days=service.settings.billing_lead_days)
    repriced = await carry_into_new_policies(service, as_of, regions)
    totals = {"bills": 0, "lines": 0, "credit": Decimal("0.00")}

    async def issue(conn, persons) -> None:
        issued = await repo.issue_bills(conn, persons, horizon, regions, as_of)
        spent = await _spend_credit(conn, persons, as_of)
        now = now_utc()  # one instant for the chunk's events: they are written in one transaction
        await service.outbox.add_events(conn, [premium_due(bill, spent.get(bill.bill_id), now) for bill in issued])
        totals["bills"] += len(issued)
        totals["lines"] += sum(len(bill.line_amounts) for bill in issued)
        totals["credit"] += sum(spent.values(), Decimal("0.00"))

    async with service.pool.acquire() as conn:
        await repo.promote_pending_terms(conn)
        billable = await repo.any_billable(conn, horizon, regions)
    if billable:
        await in_chunks(service, RUN_LOCK, repo.BILLABLE, (horizon, regions), issue)
    report = RunReport(as_of, horizon, repriced, totals["bills"], totals["lines"], totals["credit"])
    log.info("billing run done", **report.as_dict())
    return report


async def _spend_credit(conn, persons, as_of: date) -> dict:
    holders = await repo.lock_credit(conn, persons)
    return await repo.apply_credit(conn, holders, as_of) if holders else {}


def premium_due(bill: repo.IssuedBill, credit_applied: Decimal | None, now: datetime | None = None) -> Envelope:
    # validated from plain dicts in one call: a BillLine model built per line costs more than the rest
    payload = PremiumDue.model_validate({
        "bill_id": bill.bill_id, "person_id": bill.person_id, "region": bill.region, "months": bill.months,
        "lines": [
            {"programme": programme, "month": month, "base": base, "rate": rate, "amount": amount}
            for programme, month, base, rate, amount in zip(
                bill.line_programmes, bill.line_months, bill.line_bases, bill.line_rates, bill.line_amounts)
        ],
        "total": bill.principal, "due_date": bill.due_date, "credit_applied": credit_applied,
    })
    return make_envelope(payload, subject=str(bill.bill_id), region=bill.region, time=now)


async def carry_into_new_policies(service: Service, as_of: date, regions: list[str] | None) -> int:
    """Move open enrolments to the versions in force on ``as_of``; one ``ContributionRepriced``
    per enrolment whose base or monthly amount changes. Returns how many were announced."""
    announced = 0

    async with service.pool.acquire() as conn:
        if not await repo.any_needs_repricing(conn, as_of, regions):
            return 0
        versions = {(p.region, p.programme, p.effective_from): p for p in await all_policies(conn)}

    async def carry(conn, persons) -> None:
        nonlocal announced
        carried = await repo.carry_bases(conn, persons, as_of, regions)
        events = [event for item in carried if (event := _repriced(item, versions)) is not None]
        await service.outbox.add_events(conn, events)
        announced += len(events)

    await in_chunks(service, RUN_LOCK, repo.NEEDS_REPRICING, (as_of, regions), carry)
    return announced


def _repriced(item: repo.CarriedBase, versions: dict[tuple, Policy]) -> Envelope | None:
    old = versions.get((item.region, item.programme, item.old_from))
    new = versions[(item.region, item.programme, item.new_from)]
    change = reprice(old, new, item.old_base)
    if not change.changes_anything:
        return None
    payload = ContributionRepriced(
        person_id=item.person_id, programme=item.programme, region=item.region,
        effective_month=str(max(Month.of(item.new_from), Month.of(item.start_month))),
        old_base=change.old_base, new_base=change.new_base,
        old_monthly_amount=change.old_monthly_amount, new_monthly_amount=change.new_monthly_amount,
    )
    return make_envelope(payload, subject=str(item.enrollment_id), region=item.region)
