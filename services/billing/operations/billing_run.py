"""The billing run for a business date: carry bases into policy versions that have taken
effect, then issue the bills of every cycle that starts within the billing horizon.

Set-based: per chunk of persons a few statements in one unit of work, whose events the
kernel writes with one outbox insert at commit; never a round trip per enrolment.
Idempotent: a month of an enrolment is billed once (its next unbilled month moves on in
the same statement, and the lines' key forbids a second bill), and a base is carried
into a version once (its ``policy_from`` moves on).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import structlog

from services.billing.domain.policy import Policy
from services.billing.domain.pricing import reprice, repricing_month
from services.billing.operations.common import Service, in_chunks, rehearsed_if
from services.billing.repository import billing_run as repo
from services.billing.repository.policies import all_policies
from shared.events import ContributionRepriced, PremiumDue
from shared.periods import now_utc
from shared.unit_of_work import UnitOfWork

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
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(), "horizon": self.horizon.isoformat(), "repriced": self.repriced,
            "bills": self.bills, "lines": self.lines, "credit_applied": f"{self.credit_applied:.2f}",
            "dry_run": self.dry_run,
        }


async def run_billing(service: Service, as_of: date, regions: list[str] | None = None, *,
                      dry_run: bool = False) -> RunReport:
    """Bill every cycle starting by ``as_of`` + the lead days (for ``regions``, or all); a dry run
    reports the same figures and changes nothing."""
    async with rehearsed_if(service, dry_run) as service:
        report = await _run_billing(service, as_of, regions)
    report = replace(report, dry_run=dry_run)
    log.info("billing run done", **report.as_dict())
    return report


async def _run_billing(service: Service, as_of: date, regions: list[str] | None) -> RunReport:
    horizon = as_of + timedelta(days=service.settings.billing_lead_days)
    repriced = await carry_into_new_policies(service, as_of, regions)
    totals = {"bills": 0, "lines": 0, "credit": Decimal("0.00")}

    async def issue(uow: UnitOfWork, persons: list[uuid.UUID]) -> None:
        issued = await repo.issue_bills(uow.conn, persons, horizon, regions, as_of)
        spent = await _spend_credit(uow.conn, persons, as_of)
        now = now_utc()  # one instant for the chunk's events: they are written in one transaction
        for bill in issued:
            uow.emit(premium_due(bill, spent.get(bill.bill_id)), subject=str(bill.bill_id), region=bill.region,
                     time=now)
        totals["bills"] += len(issued)
        totals["lines"] += sum(len(bill.line_amounts) for bill in issued)
        totals["credit"] += sum(spent.values(), Decimal("0.00"))

    async with service.units.begin() as uow:
        await repo.promote_pending_terms(uow.conn)
        billable = await repo.any_billable(uow.conn, horizon, regions)
    if billable:
        await in_chunks(service, RUN_LOCK, repo.BILLABLE, (horizon, regions), issue)
    return RunReport(as_of, horizon, repriced, totals["bills"], totals["lines"], totals["credit"])


async def _spend_credit(conn: asyncpg.Connection, persons: list[uuid.UUID], as_of: date) -> dict[uuid.UUID, Decimal]:
    holders = await repo.lock_credit(conn, persons)
    return await repo.apply_credit(conn, holders, as_of) if holders else {}


def premium_due(bill: repo.IssuedBill, credit_applied: Decimal | None) -> PremiumDue:
    """The ``PremiumDue`` of a bill the run issued (``credit_applied``: what credit covered)."""
    # validated from plain dicts in one call: a BillLine model built per line costs more than the rest
    return PremiumDue.model_validate({
        "bill_id": bill.bill_id, "person_id": bill.person_id, "region": bill.region, "months": bill.months,
        "lines": [
            {"programme": programme, "month": month, "base": base, "rate": rate, "amount": amount}
            for programme, month, base, rate, amount in zip(
                bill.line_programmes, bill.line_months, bill.line_bases, bill.line_rates, bill.line_amounts,
                strict=True)
        ],
        "total": bill.principal, "due_date": bill.due_date, "credit_applied": credit_applied,
    })


async def carry_into_new_policies(service: Service, as_of: date, regions: list[str] | None) -> int:
    """Move open enrolments to the versions in force on ``as_of``; one ``ContributionRepriced``
    per enrolment whose base or monthly amount changes. Returns how many were announced."""
    announced = 0

    async with service.units.read() as uow:
        if not await repo.any_needs_repricing(uow.conn, as_of, regions):
            return 0
        versions = {(p.region, p.programme, p.effective_from): p for p in await all_policies(uow.conn)}

    async def carry(uow: UnitOfWork, persons: list[uuid.UUID]) -> None:
        nonlocal announced
        for item in await repo.carry_bases(uow.conn, persons, as_of, regions):
            event = contribution_repriced(item, versions)
            if event is not None:
                uow.emit(event, subject=str(item.enrollment_id), region=item.region)
                announced += 1

    await in_chunks(service, RUN_LOCK, repo.NEEDS_REPRICING, (as_of, regions), carry)
    return announced


def contribution_repriced(item: repo.CarriedBase, versions: dict[tuple, Policy]) -> ContributionRepriced | None:
    """The ``ContributionRepriced`` of a base carried into a new version; None when neither
    the base nor the monthly amount changes."""
    old = versions.get((item.region, item.programme, item.old_from))
    new = versions[(item.region, item.programme, item.new_from)]
    change = reprice(old, new, item.old_base)
    if not change.changes_anything:
        return None
    return ContributionRepriced(
        person_id=item.person_id, programme=item.programme, region=item.region,
        effective_month=str(repricing_month(item.new_from, item.start_month)),
        old_base=change.old_base, new_base=change.new_base,
        old_monthly_amount=change.old_monthly_amount, new_monthly_amount=change.new_monthly_amount,
    )
