"""The pension estimate, for the resident and their caseworker, and the region's published figures
it rests on (average wages, account interest rates), versioned like the policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from services.billing import views
from services.billing.api.common import (
    Body,
    MonthText,
    business_today,
    conflict,
    person_region,
    unprocessable,
)
from services.billing.domain.pension import Assumptions, RetirementCategory
from services.billing.operations.common import Conflict, Rejected
from services.billing.operations.pension import (
    EstimateRequest,
    PublishedFigure,
    estimate_pension,
    figures_on,
    publish_figure,
)
from shared.auth import Principal, current_principal, forbidden, require_role
from shared.events.envelope import Region
from shared.money import NonNegativeMoney, Rate
from shared.periods import Month
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import IsoDate, WireUuid

router = APIRouter(prefix="/v1", tags=["billing"])


MAX_ASSUMED_RATE = Decimal("0.20")


def _estimate_problems(birth: Month, today: date, assumptions: Assumptions) -> list[tuple[str, str]]:
    problems = []
    if birth < Month(1900, 1) or birth > Month.of(today).plus(-16 * 12):
        problems.append(("query.birth_month", "a contributor is born from 1900 and at least 16 years ago"))
    for name in ("wage_growth", "interest"):
        if getattr(assumptions, name) > MAX_ASSUMED_RATE:
            problems.append((f"query.{name}", f"an assumed yearly rate is at most {MAX_ASSUMED_RATE}"))
    return problems


@router.get("/persons/{person_id}/pension-estimate")
async def get_pension_estimate(
    person_id: WireUuid, birth_month: MonthText, category: RetirementCategory,
    wage_growth: Rate | None = None, interest: Rate | None = None,
    principal: Principal = Depends(require_role("resident", "caseworker")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """What the person's pension would be at retirement age (DOMAIN.md formula): at today's base,
    at the floor and at the ceiling, with the assumptions it rests on (``wage_growth`` and
    ``interest`` a year going forward; defaults stated in the answer) and the years missing to the
    minimum. Billing does not hold the birth date: the caller gives the birth month and category."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    defaults = Assumptions()
    assumptions = Assumptions(wage_growth=defaults.wage_growth if wage_growth is None else wage_growth,
                              interest=defaults.interest if interest is None else interest)
    today, birth = business_today(runtime), Month.parse(birth_month)
    problems = _estimate_problems(birth, today, assumptions)
    if problems:
        raise unprocessable(Rejected(problems))
    try:
        estimates = await estimate_pension(runtime, EstimateRequest(person_id, birth, category, assumptions, today))
    except Rejected as error:
        raise unprocessable(error) from error
    return views.pension_estimate(estimates)


class FigureVersion(Body):
    region: Region
    year: Annotated[int, Field(ge=1990, le=2200)]
    effective_from: IsoDate
    # the monthly average wage used for pensions that year, and the personal-account rate credited for it
    average_wage: NonNegativeMoney | None = None
    account_interest_rate: Rate | None = None


@router.get("/pension-figures")
async def get_pension_figures(
    region: Annotated[str, Query(pattern=r"^[0-9]{6}$")], on: IsoDate | None = None,
    principal: Principal = Depends(current_principal), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The region's published average wages and account interest rates in force on ``on`` (today)."""
    on = on or business_today(runtime)
    wages, rates = await figures_on(runtime, region, on)
    return views.pension_figures(region, on, wages, rates)


@router.post("/pension-figures", status_code=201)
async def post_pension_figure(
    body: FigureVersion, principal: Principal = Depends(require_role("admin")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Publish a version of a year's figures, in force from ``effective_from`` (today or later)."""
    if body.region != principal.region:
        raise forbidden(f"this token is scoped to region {principal.region}")
    figure = PublishedFigure(body.region, body.year, body.effective_from, body.average_wage, body.account_interest_rate)
    try:
        await publish_figure(runtime, figure, business_today(runtime))
    except Rejected as error:
        raise unprocessable(error) from error
    except Conflict as error:
        raise conflict(error) from error
    return views.pension_figure(figure)
