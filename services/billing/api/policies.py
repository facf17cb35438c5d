"""Routes of regional policies and of the operators' jobs (billing run, overdue scan)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from services.billing import views
from services.billing.api.common import (
    Body,
    business_today,
    conflict,
    unprocessable,
)
from services.billing.domain.policy import Policy
from services.billing.operations.billing_run import run_billing
from services.billing.operations.common import Conflict, Rejected
from services.billing.operations.overdue import scan_overdue
from services.billing.operations.policies import policies_in_force, publish_policy
from shared.auth import (
    Principal,
    authorize_job_run,
    current_principal,
    forbidden,
    require_role,
)
from shared.events import Frequency, Programme
from shared.events.envelope import Region
from shared.jobs import JobRun
from shared.money import NonNegativeMoney, Rate
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import IsoDate

router = APIRouter(prefix="/v1", tags=["billing"])


class PolicyVersion(Body):
    region: Region
    programme: Programme
    effective_from: IsoDate
    base_floor: NonNegativeMoney | None = None
    base_ceiling: NonNegativeMoney | None = None
    rate: Rate | None = None
    personal_account_rate: Rate | None = None
    flat_amount: NonNegativeMoney | None = None
    flat_period: Literal["month", "year"] | None = None
    frequencies: Annotated[list[Frequency], Field(min_length=1)]
    due_day: Annotated[int, Field(ge=1, le=31)]
    grace_days: Annotated[int, Field(ge=0)]
    late_fee_daily_rate: Rate
    back_payment_allowed: bool
    back_payment_limit_days: int | None = None

    def to_policy(self) -> Policy:
        return Policy(**{**self.model_dump(), "frequencies": tuple(self.frequencies)})


@router.get("/policies")
async def get_policies(
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    on: IsoDate | None = None,
    principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The versions in force on ``on`` (today by default), per programme, in one region or all."""
    on = on or business_today(runtime)
    policies = await policies_in_force(runtime.units, on, region)
    return {"on": on.isoformat(), "policies": [views.policy(p) for p in policies]}


@router.post("/policies", status_code=201)
async def post_policy(
    body: PolicyVersion, principal: Principal = Depends(require_role("admin")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Publish a new version, taking effect on the 1st of a future month."""
    if body.region != principal.region:
        raise forbidden(f"this token is scoped to region {principal.region}")
    policy = body.to_policy()
    try:
        policy_id = await publish_policy(runtime.units, policy, business_today(runtime))
    except Rejected as error:
        raise unprocessable(error) from error
    except Conflict as error:
        raise conflict(error) from error
    return {"policy_id": str(policy_id), **views.policy(policy)}


# operations


def _job_regions(body: JobRun, principal: Principal, runtime: ServiceRuntime) -> list[str]:
    return [authorize_job_run(body, principal, runtime.settings)]


@router.post("/ops/billing-run")
async def post_billing_run(
    body: JobRun, principal: Principal = Depends(require_role("ops")), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The daily billing run for ``as_of`` in the caller's region; running it again changes nothing.
    ``dry_run`` answers the same figures and changes nothing."""
    regions = _job_regions(body, principal, runtime)
    return (await run_billing(runtime, body.as_of, regions, dry_run=body.dry_run)).as_dict()


@router.post("/ops/overdue-scan")
async def post_overdue_scan(
    body: JobRun, principal: Principal = Depends(require_role("ops")), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The daily overdue scan for ``as_of`` in the caller's region; idempotent. ``dry_run`` answers
    the same figures and changes nothing."""
    regions = _job_regions(body, principal, runtime)
    return (await scan_overdue(runtime, body.as_of, regions, dry_run=body.dry_run)).as_dict()
