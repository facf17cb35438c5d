"""Issuing a certificate of contribution: the record of a span of months, numbered, signed with the
voucher keys and announced (``CertificateIssued``); looking one up; checking one by its number."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.billing.domain.certificate import CertifiedLine, certificate_document, certificate_number, span_problems
from services.billing.domain.voucher import ALGORITHM
from services.billing.operations.common import Rejected, Service
from services.billing.operations.vouchers import voucher_keys, voucher_signer
from services.billing.repository import certificates as repo
from services.billing.repository import payments as payments_repo
from services.billing.repository.certificates import StoredCertificate
from services.billing.settings import BillingSettings
from shared.events import CertificateIssued
from shared.identity import person_id_for
from shared.logging import mask_id_number
from shared.periods import Month, business_date, now_utc
from shared.resident_id import InvalidResidentId
from shared.unit_of_work import UnitsOfWork


@dataclass(frozen=True)
class CertificateRequest:
    person_id: uuid.UUID
    id_number: str  # the holder's, printed masked: it must be the number the person id comes from
    first_month: Month
    last_month: Month
    programmes: tuple[str, ...]
    language: str


def verify_url(settings: BillingSettings, certificate_no: str) -> str:
    """The public address that checks a certificate by its number (the QR code on the PDF)."""
    return f"{settings.billing_public_url.rstrip('/')}/v1/certificates/{certificate_no}/verify"


def _holder_problems(request: CertificateRequest) -> list[tuple[str, str]]:
    try:
        holder = person_id_for(request.id_number)
    except InvalidResidentId as error:
        return [("body.id_number", f"not a valid resident ID number ({error.rule})")]
    if holder != request.person_id:
        return [("body.id_number", "this is not the ID number of the person")]
    return []


async def issue_certificate(service: Service, request: CertificateRequest) -> StoredCertificate:
    """Certify the person's record for the span and programmes asked for, and announce it."""
    issued_at = now_utc()
    today = business_date(issued_at, service.settings.tz)
    problems = _holder_problems(request) + span_problems(request.first_month, request.last_month, Month.of(today))
    if problems:
        raise Rejected(problems)
    async with service.units.begin() as uow:
        account = await payments_repo.account(uow.conn, request.person_id)
        if account is None:
            raise Rejected([("path.person_id", "no contribution account is known for this person")])
        rows = await repo.lines_in_span(uow.conn, request.person_id, request.first_month.first_day,
                                        request.last_month.first_day, list(request.programmes))
        lines = [CertifiedLine(row["programme"], Month.of(row["month"]), row["base"], row["amount"],
                               row["bill_status"],
                               business_date(row["settled_at"], service.settings.tz) if row["settled_at"] else None)
                 for row in rows]
        number = certificate_number(account.region, today.year,
                                    await repo.next_certificate_number(uow.conn, account.region, today.year))
        certificate_id = uuid.uuid4()
        document = certificate_document(
            certificate_no=number, certificate_id=str(certificate_id), person_id=str(request.person_id),
            region=account.region, id_number_masked=mask_id_number(request.id_number.strip().upper()),
            first=request.first_month, last=request.last_month, programmes=request.programmes, lines=lines,
            language=request.language, verify_url=verify_url(service.settings, number), issued_at=issued_at,
        )
        signer = voucher_signer(service.settings)
        stored = StoredCertificate(number, certificate_id, request.person_id, account.region, document,
                                   signer.sign(document), ALGORITHM, signer.key_id, issued_at)
        await repo.insert_certificate(uow.conn, stored, first=request.first_month.first_day,
                                      last=request.last_month.first_day, programmes=list(request.programmes),
                                      language=request.language)
        uow.emit(CertificateIssued(certificate_id=certificate_id, certificate_no=number, person_id=request.person_id,
                                   first_month=str(request.first_month), last_month=str(request.last_month),
                                   programmes=request.programmes, language=request.language),
                 subject=str(certificate_id), region=account.region)
    return stored


async def certificate(units: UnitsOfWork, certificate_no: str) -> StoredCertificate | None:
    async with units.read() as uow:
        return await repo.certificate(uow.conn, certificate_no)


async def certificates_of(units: UnitsOfWork, person_id: uuid.UUID) -> list[StoredCertificate]:
    async with units.read() as uow:
        return await repo.certificates_of(uow.conn, person_id)


def certificate_still_valid(settings: BillingSettings, stored: StoredCertificate) -> bool:
    """Whether the kept certificate still carries a valid signature of the key it names."""
    return voucher_keys(settings).verifying_key(stored.document, stored.signature, stored.key_id) is not None
