"""Paying credit back: a resident (or a caseworker for them) asks for part or all of it; the
money goes back through the channels of the payments it came from (``domain/refunds.py``), with
a signed refund voucher and one ``RefundIssued``. One request id of a person is one refund,
however often it arrives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.billing.domain.refunds import RefundPart, channels_of, refund_document, refund_problems, split_refund
from services.billing.domain.voucher import ALGORITHM, voucher_number
from services.billing.operations.common import Conflict, Rejected, Service
from services.billing.operations.vouchers import voucher_signer
from services.billing.repository import payments as payments_repo
from services.billing.repository import refunds as repo
from shared.events import RefundIssued
from shared.periods import business_date, now_utc


@dataclass(frozen=True)
class RefundRequest:
    person_id: uuid.UUID
    request_id: str
    amount: Decimal | None  # None: all the credit
    reason: str
    requested_by: str  # "<role>:<sub>" of the caller


@dataclass(frozen=True)
class RefundOutcome:
    """The answer; ``created`` is False when the request id was known already."""

    result: dict[str, Any]
    created: bool


async def refund_credit(service: Service, request: RefundRequest) -> RefundOutcome:
    """Refund ``request`` once; the same request id again returns the first answer."""
    async with service.units.begin() as uow:
        account = await payments_repo.lock_account(uow.conn, request.person_id)  # one refund or payment at a time
        if account is None:
            raise Rejected([("path.person_id", "no contribution account is known for this person")])
        stored = await repo.refund_by_request(uow.conn, request.person_id, request.request_id)
        if stored is not None:
            if stored.requested_amount != request.amount:
                raise Conflict("body.request_id", "this request id was already used for another amount")
            return RefundOutcome(stored.result, created=False)
        amount = account.credit_balance if request.amount is None else request.amount
        problems = refund_problems(amount, account.credit_balance)
        if problems:
            raise Rejected(problems)
        parts = split_refund(amount, await repo.refund_sources(uow.conn, request.person_id))

        refund_id, issued_at = uuid.uuid4(), now_utc()
        year = business_date(issued_at, service.settings.tz).year
        voucher_no = voucher_number(account.region, year, await payments_repo.next_voucher_number(
            uow.conn, account.region, year))
        credit_after = await repo.take_credit(uow.conn, request.person_id, amount)
        result = _result(refund_id, request, amount, parts, voucher_no, credit_after, issued_at.isoformat())
        await repo.insert_refund(
            uow.conn, refund_id=refund_id, person_id=request.person_id, request_id=request.request_id,
            requested_amount=request.amount, amount=amount, reason=request.reason,
            requested_by=request.requested_by, voucher_no=voucher_no, issued_at=issued_at, result=result,
            parts=parts,
        )
        document = refund_document(
            voucher_no=voucher_no, refund_id=refund_id, person_id=request.person_id, region=account.region,
            amount=amount, reason=request.reason, parts=parts, credit_before=account.credit_balance,
            issued_at=issued_at,
        )
        signer = voucher_signer(service.settings)
        voucher = payments_repo.StoredVoucher(voucher_no, request.person_id, account.region, document,
                                              signer.sign(document), ALGORITHM, signer.key_id)
        await repo.insert_refund_voucher(uow.conn, voucher, refund_id, issued_at)
        uow.emit(RefundIssued(refund_id=refund_id, person_id=request.person_id, amount=amount,
                              reason=request.reason, channel=channels_of(parts), voucher_no=voucher_no,
                              credit_balance=credit_after),
                 subject=str(refund_id), region=account.region)
    return RefundOutcome(result, created=True)


def _result(refund_id: uuid.UUID, request: RefundRequest, amount: Decimal, parts: tuple[RefundPart, ...],
            voucher_no: str, credit_after: Decimal, issued_at: str) -> dict[str, Any]:
    return {
        "refund_id": str(refund_id), "person_id": str(request.person_id), "request_id": request.request_id,
        "amount": f"{amount:.2f}", "reason": request.reason, "voucher_no": voucher_no,
        "parts": [{"payment_id": str(part.payment_id), "channel": part.channel,
                   "channel_txn_id": part.channel_txn_id, "amount": f"{part.amount:.2f}"} for part in parts],
        "credit_balance": f"{credit_after:.2f}", "issued_at": issued_at,
    }


async def refunds_of(service: Service, person_id: uuid.UUID) -> list[dict[str, Any]]:
    """The person's refunds, newest first."""
    async with service.units.read() as uow:
        return await repo.refunds_of(uow.conn, person_id)
