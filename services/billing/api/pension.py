"""The route of the pension estimate, for the resident and their caseworker."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Depends

from services.billing import views
from services.billing.api.common import (
    MonthText,
    business_today,
    person_region,
    unprocessable,
)
from services.billing.domain.pension import Assumptions, RetirementCategory
from services.billing.operations.common import Rejected
from services.billing.operations.pension import EstimateRequest, estimate_pension
from shared.auth import (
    Principal,
    require_role,
)
from shared.money import Rate
from shared.periods import Month
from shared.runtime import ServiceRuntime, get_runtime

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
    person_id: uuid.UUID, birth_month: MonthText, category: RetirementCategory,
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
