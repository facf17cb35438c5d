"""HTTP routes of the billing service: validate, authorize, call the operations."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.billing import views
from services.billing.domain.policy import Policy
from services.billing.operations import lookups
from services.billing.operations.billing_run import run_billing
from services.billing.operations.common import Conflict, OutOfScope, Rejected
from services.billing.operations.overdue import scan_overdue
from services.billing.operations.payments import PaymentRequest, take_payment
from services.billing.operations.policies import policies_in_force, publish_policy
from services.billing.operations.vouchers import verify_kept, verify_presented, voucher_keys
from shared.auth import (
    Principal,
    authorize_job_run,
    current_principal,
    ensure_person_access,
    forbidden,
    require_role,
)
from shared.errors import ApiError
from shared.events import Frequency, Programme
from shared.events.envelope import Region
from shared.jobs import JobRun
from shared.money import NonNegativeMoney, Rate
from shared.periods import business_date, now_utc
from shared.ratelimit import rate_limited
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import IsoDate, IsoDateTime, WireUuid

router = APIRouter(prefix="/v1", tags=["billing"])

Label = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
BillStatus = Literal["open", "overdue", "paid", "missed", "cancelled"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyVersion(_Body):
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


class Payment(_Body):
    person_id: WireUuid
    amount: NonNegativeMoney
    channel: Label
    channel_txn_id: Label
    paid_at: IsoDateTime


class PresentedVoucher(_Body):
    document: dict[str, Any]
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # the voucher's key_id, if the presenter has it; without it every published key is tried
    key_id: Label | None = None


def _today(runtime: ServiceRuntime) -> date:
    return business_date(now_utc(), runtime.settings.tz)


def _unprocessable(error: Rejected) -> ApiError:
    return ApiError(422, "rule_violated", [{"field": field, "reason": reason} for field, reason in error.problems])


def _conflict(error: Conflict) -> ApiError:
    return ApiError(409, "conflict", [{"field": error.field, "reason": error.reason}])


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", [{"reason": f"no such {what}"}])


# policies


@router.get("/policies")
async def get_policies(
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    on: IsoDate | None = None,
    principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The versions in force on ``on`` (today by default), per programme, in one region or all."""
    on = on or _today(runtime)
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
        policy_id = await publish_policy(runtime.units, policy, _today(runtime))
    except Rejected as error:
        raise _unprocessable(error) from error
    except Conflict as error:
        raise _conflict(error) from error
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


# payments and vouchers


@router.post("/payments", status_code=201)
async def post_payment(
    body: Payment, response: Response, principal: Principal = Depends(require_role("channel")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Apply a payment; the same channel transaction again answers 200 with the first result. A
    channel's token names its channel (``sub``) and region: it posts only that channel's payments,
    for payers of that region."""
    if body.channel != principal.sub:
        raise forbidden(f"this token is for channel {principal.sub}, not {body.channel}")
    request = PaymentRequest(body.person_id, body.amount, body.channel, body.channel_txn_id, body.paid_at,
                             channel_region=principal.region)
    try:
        outcome = await take_payment(runtime, request)
    except Rejected as error:
        raise _unprocessable(error) from error
    except Conflict as error:
        raise _conflict(error) from error
    except OutOfScope as error:
        raise forbidden(str(error)) from error
    if not outcome.created:
        response.status_code = 200
    return outcome.result


# Vouchers exist so that anyone (a bank, a school, an employer) can check one: no token, but a
# rate limit per client address.
PUBLIC = rate_limited(per_minute=120, burst=30)


@router.get("/vouchers/public-key", dependencies=[Depends(PUBLIC)])
async def get_voucher_key(runtime: ServiceRuntime = Depends(get_runtime)) -> dict:
    """The keys anyone can check vouchers with, offline: the one that signs now, and the retired
    ones that signed older vouchers (``keys``, by key id). No token needed."""
    return views.voucher_keys(voucher_keys(runtime.settings))


@router.post("/vouchers/verify", dependencies=[Depends(PUBLIC)])
async def verify_presented_voucher(body: PresentedVoucher, runtime: ServiceRuntime = Depends(get_runtime)) -> dict:
    """Whether a voucher someone shows us is one we signed, unchanged. No token needed."""
    signed_by = verify_presented(runtime.settings, body.document, body.signature, body.key_id)
    key_id = signed_by or body.key_id or voucher_keys(runtime.settings).signer.key_id
    return views.verification(body.document.get("voucher_no"), signed_by is not None, key_id=key_id)


async def _voucher_for(runtime: ServiceRuntime, voucher_no: str, principal: Principal) -> lookups.StoredVoucher:
    voucher = await lookups.voucher(runtime.units, voucher_no)
    if voucher is None:
        raise _not_found("voucher")
    ensure_person_access(principal, voucher.person_id, voucher.region, allow_channel=True)
    return voucher


@router.get("/vouchers/{voucher_no}")
async def get_voucher(
    voucher_no: str, principal: Principal = Depends(current_principal), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    voucher = await _voucher_for(runtime, voucher_no, principal)
    return views.voucher(voucher, voucher_keys(runtime.settings).public_key_of(voucher.key_id))


@router.get("/vouchers/{voucher_no}/verify")
async def verify_voucher(
    voucher_no: str, principal: Principal = Depends(current_principal), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Whether the voucher we keep still carries a valid signature (nothing altered it)."""
    voucher = await _voucher_for(runtime, voucher_no, principal)
    valid = verify_kept(runtime.settings, voucher)
    return views.verification(voucher_no, valid, key_id=voucher.key_id, algorithm=voucher.algorithm)


# what a person can look up


async def _person_region(runtime: ServiceRuntime, person_id: uuid.UUID, principal: Principal, *,
                         allow_channel: bool) -> str:
    if principal.role == "resident":
        ensure_person_access(principal, person_id)
    region = await lookups.person_region(runtime.units, person_id)
    if region is None:
        raise _not_found("person")
    ensure_person_access(principal, person_id, region, allow_channel=allow_channel)
    return region


@router.get("/persons/{person_id}/bills")
async def get_bills(
    person_id: WireUuid, status: BillStatus | None = None, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The person's bills (newest first): lines, what is paid, what is still owed today."""
    await _person_region(runtime, person_id, principal, allow_channel=True)
    bills = await lookups.bills_of(runtime.units, person_id, status, _today(runtime))
    return {"person_id": str(person_id), "bills": [views.bill(bill) for bill in bills]}


@router.get("/persons/{person_id}/statement")
async def get_statement(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The contribution record: months paid and missed per programme, years, personal account."""
    region = await _person_region(runtime, person_id, principal, allow_channel=False)
    return views.statement(await lookups.statement_of(runtime.units, person_id, _today(runtime)), region)


@router.get("/persons/{person_id}/vouchers")
async def get_person_vouchers(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Every voucher of the person, newest first."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    return views.vouchers(person_id, await lookups.vouchers_of(runtime.units, person_id))
