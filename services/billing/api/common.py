"""What every billing route shares: strict bodies, the words of its parameters, the error answers,
the person's region as the access check needs it, and the rate limit of the public checks."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.billing.operations import lookups
from services.billing.operations.common import Conflict, Rejected
from shared.auth import (
    Principal,
    ensure_person_access,
)
from shared.errors import ApiError
from shared.periods import business_date, now_utc
from shared.ratelimit import rate_limited
from shared.runtime import ServiceRuntime

Label = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
MonthText = Annotated[str, StringConstraints(pattern=r"^[12][0-9]{3}-(0[1-9]|1[0-2])$")]

# Vouchers and certificates exist so that anyone (a bank, a school, an employer) can check one: no
# token, but a rate limit per client address.
PUBLIC = rate_limited(per_minute=120, burst=30)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def business_today(runtime: ServiceRuntime) -> date:
    return business_date(now_utc(), runtime.settings.tz)


def unprocessable(error: Rejected) -> ApiError:
    return ApiError(422, "rule_violated", [{"field": field, "reason": reason} for field, reason in error.problems])


def conflict(error: Conflict) -> ApiError:
    return ApiError(409, "conflict", [{"field": error.field, "reason": error.reason}])


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", [{"reason": f"no such {what}"}])


async def person_region(runtime: ServiceRuntime, person_id: uuid.UUID, principal: Principal, *,
                         allow_channel: bool) -> str:
    if principal.role == "resident":
        ensure_person_access(principal, person_id)
    region = await lookups.person_region(runtime.units, person_id)
    check_person_access(principal, person_id, region, allow_channel=allow_channel)
    return region


def check_person_access(principal: Principal, person_id: uuid.UUID, region: str | None, *,
                        allow_channel: bool) -> None:
    """Whether ``principal`` may see the person whose account is in ``region`` (None: billing does
    not know them, which only those who could see them may learn)."""
    if principal.role == "resident":
        ensure_person_access(principal, person_id)
    if region is None:
        raise not_found("person")
    ensure_person_access(principal, person_id, region, allow_channel=allow_channel)

