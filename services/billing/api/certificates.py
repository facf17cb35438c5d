"""Routes of certificates of contribution: issued to the person, printable, checked by anyone by number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response as RawResponse
from pydantic import Field, StringConstraints

from services.billing import views
from services.billing.api.common import (
    PUBLIC,
    Body,
    MonthText,
    not_found,
    person_region,
    unprocessable,
)
from services.billing.operations.certificates import (
    CertificateRequest,
    certificate_still_valid,
    certificates_of,
    issue_certificate,
)
from services.billing.operations.certificates import certificate as kept_certificate
from services.billing.operations.common import Rejected
from services.billing.views.certificate_pdf import render_certificate
from shared.auth import (
    Principal,
    current_principal,
    ensure_person_access,
    require_role,
)
from shared.events import Language, Programme
from shared.periods import Month
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import WireUuid

router = APIRouter(prefix="/v1", tags=["billing"])


class CertificateAsked(Body):
    # the holder's resident ID number: it must be the one the person id comes from; printed masked
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18)]
    first_month: MonthText
    last_month: MonthText
    programmes: Annotated[list[Programme], Field(min_length=1, max_length=6)]
    language: Language = "zh-CN"


@router.post("/persons/{person_id}/certificates", status_code=201)
async def post_certificate(
    person_id: WireUuid, body: CertificateAsked,
    principal: Principal = Depends(require_role("resident", "caseworker")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Certify the record of a span of months and programmes: numbered, signed, announced
    (``CertificateIssued``); ``pdf`` is its printable form, ``verify_url`` its public check."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    request = CertificateRequest(person_id, body.id_number, Month.parse(body.first_month),
                                 Month.parse(body.last_month), tuple(dict.fromkeys(body.programmes)), body.language)
    try:
        stored = await issue_certificate(runtime, request)
    except Rejected as error:
        raise unprocessable(error) from error
    return views.certificate(stored)


@router.get("/persons/{person_id}/certificates")
async def get_person_certificates(
    person_id: WireUuid, principal: Principal = Depends(current_principal),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict:
    """Every certificate issued to the person, newest first."""
    await person_region(runtime, person_id, principal, allow_channel=False)
    stored = await certificates_of(runtime.units, person_id)
    return {"person_id": str(person_id), "certificates": [views.certificate(c) for c in stored]}


async def _certificate_for(runtime: ServiceRuntime, certificate_no: str, principal: Principal):
    stored = await kept_certificate(runtime.units, certificate_no)
    if stored is None:
        raise not_found("certificate")
    ensure_person_access(principal, stored.person_id, stored.region)
    return stored


@router.get("/certificates/{certificate_no}/verify", dependencies=[Depends(PUBLIC)])
async def verify_certificate(certificate_no: str, runtime: ServiceRuntime = Depends(get_runtime)) -> dict:
    """Whether a certificate of this number is ours and unaltered, and what it certifies: the
    address of its QR code. No token needed (rate-limited, like the voucher checks)."""
    stored = await kept_certificate(runtime.units, certificate_no)
    if stored is None:
        raise not_found("certificate")
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
