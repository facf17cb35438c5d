"""The pension estimate of a person: their paid pension months, the region's published figures
(versioned, like the policies) and the estimate at today's base, the floor and the ceiling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.billing.domain.pension import (
    PERSONAL_ACCOUNT_RATE,
    Assumptions,
    PensionEstimate,
    PensionFigures,
    RetirementCategory,
    estimate,
    figure_problems,
    figures_in_force,
    retirement_age_months,
    wages_from_ceilings,
)
from services.billing.domain.policy import in_force
from services.billing.operations.common import Conflict, Rejected, Service
from services.billing.repository import pension as repo
from services.billing.repository import policies as policies_repo
from shared.periods import Month


@dataclass(frozen=True)
class EstimateRequest:
    person_id: uuid.UUID
    birth_month: Month
    category: RetirementCategory
    assumptions: Assumptions
    today: date


@dataclass(frozen=True)
class Estimates:
    """The three estimates of one person on one day, and what they rest on."""

    request: EstimateRequest
    region: str
    retirement_month: Month
    retirement_age_months: int
    months_paid: int
    paying_on: bool
    at_current_base: PensionEstimate
    at_floor: PensionEstimate
    at_ceiling: PensionEstimate


async def estimate_pension(service: Service, request: EstimateRequest) -> Estimates:
    async with service.units.read() as uow:
        enrolment = await repo.pension_enrolment(uow.conn, request.person_id)
        if enrolment is None:
            raise Rejected([("path.person_id", "the person has no pension enrolment")])
        record = await repo.paid_pension_months(uow.conn, request.person_id)
        policies = [p for p in await policies_repo.all_policies(uow.conn)
                    if p.region == enrolment["region"] and p.programme == "pension"]
        rows = await repo.figure_rows(uow.conn, enrolment["region"])
    policy = in_force(policies, enrolment["region"], "pension", request.today)
    if policy is None or policy.base_floor is None or policy.base_ceiling is None:
        raise Rejected([("path.person_id", "no pension policy with a base range is in force in the person's region")])
    published_wages, rates = figures_in_force(rows, request.today)
    ceilings = {p.effective_from.year: p.base_ceiling for p in policies
                if p.effective_from <= request.today and p.base_ceiling is not None}
    figures = PensionFigures(wages_from_ceilings(published_wages, ceilings), rates,
                             policy.personal_account_rate or PERSONAL_ACCOUNT_RATE)

    age = retirement_age_months(request.birth_month, request.category)
    retirement = request.birth_month.plus(age)
    start = max(Month.of(request.today), record[-1].month.next() if record else Month.of(request.today))
    paying_on = enrolment["status"] in ("active", "suspended")

    def at(base):
        return estimate(record, future_base=base if paying_on else None, start=start, retirement=retirement,
                        age_at_retirement_months=age, figures=figures, assumptions=request.assumptions)

    return Estimates(
        request=request, region=enrolment["region"], retirement_month=retirement, retirement_age_months=age,
        months_paid=len(record), paying_on=paying_on, at_current_base=at(enrolment["base"]),
        at_floor=at(policy.base_floor), at_ceiling=at(policy.base_ceiling),
    )


@dataclass(frozen=True)
class PublishedFigure:
    region: str
    year: int
    effective_from: date
    average_wage: Decimal | None
    interest_rate: Decimal | None


async def publish_figure(service: Service, figure: PublishedFigure, today: date) -> None:
    """Store a new version of a region's yearly figures (validated)."""
    problems = figure_problems(figure.year, figure.effective_from, figure.average_wage, figure.interest_rate, today)
    if problems:
        raise Rejected(problems)
    async with service.units.begin() as uow:
        stored = await repo.insert_figure(uow.conn, figure.region, figure.year, figure.effective_from,
                                          figure.average_wage, figure.interest_rate)
    if not stored:
        raise Conflict("body.effective_from",
                       f"region {figure.region} already has a {figure.year} version from that date")


async def figures_on(service: Service, region: str, on: date) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """The region's published average wages and interest rates in force on ``on``, by year."""
    async with service.units.read() as uow:
        return figures_in_force(await repo.figure_rows(uow.conn, region), on)
