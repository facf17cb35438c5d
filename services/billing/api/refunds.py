"""Routes of refunds: a resident, or a caseworker for them, asks for credit back."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from services.billing.api.common import (
    Body,
    Label,
    conflict,
    person_region,
    unprocessable,
)
from services.billing.domain.refunds import RefundReason
from services.billing.operations.common import Conflict, Rejected
from services.billing.operations.refunds import RefundRequest, refund_credit, refunds_of
from shared.auth import (
    Principal,
    current_principal,
    require_role,
)
from shared.money import NonNegativeMoney
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import WireUuid

router = APIRouter(prefix="/v1", tags=["billing"])


class RefundAsked(Body):
    # the caller's own id for this request: the same id again is the same refund
    request_id: Label
    # omitted: all the credit
    amount: NonNegativeMoney | None = None
    reason: RefundReason


@router.post("/persons/{person_id}/refunds", status_code=201)
async def post_refund(
    person_id: WireUuid, body: RefundAsked, response: Response,
    principal: Principal = Depends(require_role("resident", "caseworker")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Pay part (``amount``) or all of the person's credit back, through the channels of the
    payments it came from; the same ``request_id`` again answers 200 with the first result."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    request = RefundRequest(person_id, body.request_id, body.amount, body.reason,
                            requested_by=f"{principal.role}:{principal.sub}")
    try:
        outcome = await refund_credit(runtime, request)
    except Rejected as error:
        raise unprocessable(error) from error
    except Conflict as error:
        raise conflict(error) from error
    if not outcome.created:
        response.status_code = 200
    return outcome.result


@router.get("/persons/{person_id}/refunds")
async def get_refunds(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """The person's refunds, newest first."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    return {"person_id": str(person_id), "refunds": await refunds_of(runtime, person_id)}
