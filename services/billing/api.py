"""HTTP routes of the billing service: validate, authorize, call the operations."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import Response as RawResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.billing import views
from services.billing.domain.pension import Assumptions, RetirementCategory
from services.billing.domain.policy import Policy
from services.billing.domain.refunds import RefundReason
from services.billing.operations import lookups
from services.billing.operations.billing_run import run_billing
from services.billing.operations.certificates import (
    CertificateRequest,
    certificate_still_valid,
    certificates_of,
    issue_certificate,
)
from services.billing.operations.certificates import certificate as kept_certificate
from services.billing.operations.common import Conflict, OutOfScope, Rejected
from services.billing.operations.overdue import scan_overdue
from services.billing.operations.payments import PaymentRequest, take_payment
from services.billing.operations.pension import EstimateRequest, estimate_pension
from services.billing.operations.policies import policies_in_force, publish_policy
from services.billing.operations.refunds import RefundRequest, refund_credit, refunds_of
from services.billing.operations.vouchers import verify_kept, verify_presented, voucher_keys
from services.billing.views.certificate_pdf import render_certificate
from shared.auth import (
    Principal,
    authorize_job_run,
    current_principal,
    ensure_person_access,
    forbidden,
    require_role,
)
from shared.errors import ApiError
from shared.events import Frequency, Language, Programme
from shared.events.envelope import Region
from shared.jobs import JobRun
from shared.money import NonNegativeMoney, Rate
from shared.periods import Month, business_date, now_utc
from shared.ratelimit import rate_limited
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import IsoDate, IsoDateTime

router = APIRouter(prefix="/v1", tags=["billing"])

Label = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
MonthText = Annotated[str, StringConstraints(pattern=r"^[12][0-9]{3}-(0[1-9]|1[0-2])$")]
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
    person_id: uuid.UUID
    amount: NonNegativeMoney
    channel: Label
    channel_txn_id: Label
    paid_at: IsoDateTime


class PresentedVoucher(_Body):
    document: dict[str, Any]
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # the voucher's key_id, if the presenter has it; without it every published key is tried
    key_id: Label | None = None


class RefundAsked(_Body):
    # the caller's own id for this request: the same id again is the same refund
    request_id: Label
    # omitted: all the credit
    amount: NonNegativeMoney | None = None
    reason: RefundReason


class CertificateAsked(_Body):
    # the holder's resident ID number: it must be the one the person id comes from; printed masked
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18)]
    first_month: MonthText
    last_month: MonthText
    programmes: Annotated[list[Programme], Field(min_length=1, max_length=6)]
    language: Language = "zh-CN"


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
    person_id: uuid.UUID, status: BillStatus | None = None, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The person's bills (newest first): lines, what is paid, what is still owed today."""
    await _person_region(runtime, person_id, principal, allow_channel=True)
    bills = await lookups.bills_of(runtime.units, person_id, status, _today(runtime))
    return {"person_id": str(person_id), "bills": [views.bill(bill) for bill in bills],
            "refunds": await refunds_of(runtime, person_id)}


@router.get("/persons/{person_id}/statement")
async def get_statement(
    person_id: uuid.UUID, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The contribution record: months paid and missed per programme, years, personal account."""
    region = await _person_region(runtime, person_id, principal, allow_channel=False)
    return views.statement(await lookups.statement_of(runtime.units, person_id, _today(runtime)), region)


@router.get("/persons/{person_id}/vouchers")
async def get_person_vouchers(
    person_id: uuid.UUID, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Every voucher of the person, newest first."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    return views.vouchers(person_id, await lookups.vouchers_of(runtime.units, person_id))


# refunds


@router.post("/persons/{person_id}/refunds", status_code=201)
async def post_refund(
    person_id: uuid.UUID, body: RefundAsked, response: Response,
    principal: Principal = Depends(require_role("resident", "caseworker")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Pay part (``amount``) or all of the person's credit back, through the channels of the
    payments it came from; the same ``request_id`` again answers 200 with the first result."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    request = RefundRequest(person_id, body.request_id, body.amount, body.reason,
                            requested_by=f"{principal.role}:{principal.sub}")
    try:
        outcome = await refund_credit(runtime, request)
    except Rejected as error:
        raise _unprocessable(error) from error
    except Conflict as error:
        raise _conflict(error) from error
    if not outcome.created:
        response.status_code = 200
    return outcome.result


@router.get("/persons/{person_id}/refunds")
async def get_refunds(
    person_id: uuid.UUID, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The person's refunds, newest first."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    return {"person_id": str(person_id), "refunds": await refunds_of(runtime, person_id)}


# the pension estimate

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
    await _person_region(runtime, person_id, principal, allow_channel=False)
    defaults = Assumptions()
    assumptions = Assumptions(wage_growth=defaults.wage_growth if wage_growth is None else wage_growth,
                              interest=defaults.interest if interest is None else interest)
    today, birth = _today(runtime), Month.parse(birth_month)
    problems = _estimate_problems(birth, today, assumptions)
    if problems:
        raise _unprocessable(Rejected(problems))
    try:
        estimates = await estimate_pension(runtime, EstimateRequest(person_id, birth, category, assumptions, today))
    except Rejected as error:
        raise _unprocessable(error) from error
    return views.pension_estimate(estimates)


# certificates of contribution


@router.post("/persons/{person_id}/certificates", status_code=201)
async def post_certificate(
    person_id: uuid.UUID, body: CertificateAsked,
    principal: Principal = Depends(require_role("resident", "caseworker")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Certify the record of a span of months and programmes: numbered, signed, announced
    (``CertificateIssued``); ``pdf`` is its printable form, ``verify_url`` its public check."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    request = CertificateRequest(person_id, body.id_number, Month.parse(body.first_month),
                                 Month.parse(body.last_month), tuple(dict.fromkeys(body.programmes)), body.language)
    try:
        stored = await issue_certificate(runtime, request)
    except Rejected as error:
        raise _unprocessable(error) from error
    return views.certificate(stored)


@router.get("/persons/{person_id}/certificates")
async def get_person_certificates(
    person_id: uuid.UUID, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Every certificate issued to the person, newest first."""
    await _person_region(runtime, person_id, principal, allow_channel=False)
    stored = await certificates_of(runtime.units, person_id)
    return {"person_id": str(person_id), "certificates": [views.certificate(c) for c in stored]}


async def _certificate_for(runtime: ServiceRuntime, certificate_no: str, principal: Principal):
    stored = await kept_certificate(runtime.units, certificate_no)
    if stored is None:
        raise _not_found("certificate")
    ensure_person_access(principal, stored.person_id, stored.region)
    return stored


@router.get("/certificates/{certificate_no}/verify", dependencies=[Depends(PUBLIC)])
async def verify_certificate(certificate_no: str, runtime: ServiceRuntime = Depends(get_runtime)) -> dict:
    """Whether a certificate of this number is ours and unaltered, and what it certifies: the
    address of its QR code. No token needed (rate-limited, like the voucher checks)."""
    stored = await kept_certificate(runtime.units, certificate_no)
    if stored is None:
        raise _not_found("certificate")
    return views.certificate_verification(stored, certificate_still_valid(runtime.settings, stored))


@router.get("/certificates/{certificate_no}")
async def get_certificate(
    certificate_no: str, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    return views.certificate(await _certificate_for(runtime, certificate_no, principal))


@router.get("/certificates/{certificate_no}/pdf", response_class=RawResponse,
            responses={200: {"content": {"application/pdf": {}}}})
async def get_certificate_pdf(
    certificate_no: str, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> RawResponse:
    """The printable certificate (PDF, A4), with the QR code of its public verification."""
    stored = await _certificate_for(runtime, certificate_no, principal)
    pdf = render_certificate(stored.document, stored.signature, stored.key_id)
    return RawResponse(pdf, media_type="application/pdf",
                       headers={"Content-Disposition": f'inline; filename="{certificate_no}.pdf"'})
