"""Routes of payments and vouchers (the public checks among them), and what a person looks up: bills,
statement, vouchers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import StringConstraints

from services.billing import views
from services.billing.api.common import (
    PUBLIC,
    Body,
    Label,
    business_today,
    check_person_access,
    conflict,
    not_found,
    person_region,
    unprocessable,
)
from services.billing.operations import lookups
from services.billing.operations.common import Conflict, OutOfScope, Rejected
from services.billing.operations.payments import PaymentRequest, take_payment
from services.billing.operations.vouchers import verify_kept, verify_presented, voucher_keys
from shared.auth import (
    Principal,
    current_principal,
    ensure_person_access,
    forbidden,
    require_role,
)
from shared.money import NonNegativeMoney
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import IsoDateTime, WireUuid

router = APIRouter(prefix="/v1", tags=["billing"])

BillStatus = Literal["open", "overdue", "paid", "missed", "cancelled"]


class Payment(Body):
    person_id: WireUuid
    amount: NonNegativeMoney
    channel: Label
    channel_txn_id: Label
    paid_at: IsoDateTime


class PresentedVoucher(Body):
    document: dict[str, Any]
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # the voucher's key_id, if the presenter has it; without it every published key is tried
    key_id: Label | None = None


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
        raise unprocessable(error) from error
    except Conflict as error:
        raise conflict(error) from error
    except OutOfScope as error:
        raise forbidden(str(error)) from error
    if not outcome.created:
        response.status_code = 200
    return outcome.result

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
        raise not_found("voucher")
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


@router.get("/persons/{person_id}/bills")
async def get_bills(
    person_id: WireUuid, status: BillStatus | None = None, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The person's bills (newest first): lines, what is paid, what is still owed today."""
    found = await lookups.bills_of(runtime.units, person_id, status, business_today(runtime))
    check_person_access(principal, person_id, found.region if found else None, allow_channel=True)
    return {"person_id": str(person_id), "bills": [views.bill(bill) for bill in found.bills],
            "refunds": found.refunds}


@router.get("/persons/{person_id}/statement")
async def get_statement(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The contribution record: months paid and missed per programme, years, personal account."""
    statement = await lookups.statement_of(runtime.units, person_id, business_today(runtime))
    check_person_access(principal, person_id, statement.region if statement else None, allow_channel=False)
    return views.statement(statement)


@router.get("/persons/{person_id}/vouchers")
async def get_person_vouchers(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Every voucher of the person, newest first."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    return views.vouchers(person_id, await lookups.vouchers_of(runtime.units, person_id))
