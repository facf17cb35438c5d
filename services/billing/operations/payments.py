"""Taking a payment: applied oldest bill first, late fee before principal, the rest kept
as credit; a signed voucher; ``PremiumPaid`` (and ``ArrearsSettled`` when it clears the
last overdue bill). One channel transaction is one payment, however often it arrives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.billing.domain.late_fee import ArrearsBill, SettledArrears, settled_arrears
from services.billing.domain.payments import (
    Allocation,
    BillBalance,
    allocate,
    arrears_bill,
    open_bill,
    paid_before_cover,
    payment_problems,
)
from services.billing.domain.voucher import ALGORITHM, VoucherBill, voucher_document, voucher_number
from services.billing.operations.common import Conflict, OutOfScope, Rejected, Service
from services.billing.operations.overdue import announce_settled_arrears, mark_reported
from services.billing.operations.voucher_numbers import VoucherClaim, numbers_of, reserves_apart
from services.billing.operations.vouchers import voucher_signer
from services.billing.repository import payments as repo
from services.billing.settings import BillingSettings
from shared.events import AppliedPayment, PremiumPaid
from shared.periods import business_date, now_utc
from shared.unit_of_work import CHANGED_MEANWHILE, ChangedMeanwhile, UnitOfWork, at_once_else_locked


@dataclass(frozen=True)
class PaymentRequest:
    person_id: uuid.UUID
    amount: Decimal
    channel: str
    channel_txn_id: str
    paid_at: datetime
    channel_region: str | None = None  # the region the channel's token is for: its payers' only


@dataclass(frozen=True)
class PaymentOutcome:
    """The answer to the channel; ``created`` is False when the transaction was known already."""

    result: dict[str, Any]
    created: bool


class _RecordedMeanwhile(Exception):
    """Another request recorded the same channel transaction while this one was working."""


async def take_payment(service: Service, request: PaymentRequest) -> PaymentOutcome:
    """Apply ``request`` once; the same channel transaction again returns the first answer."""
    skew = timedelta(seconds=service.settings.payment_clock_skew_s)
    problems = payment_problems(request.amount, request.paid_at, now_utc(), skew, service.settings.payment_max_amount)
    if problems:
        raise Rejected(problems)
    try:
        return await _record(service, request)
    except _RecordedMeanwhile:
        async with service.units.read() as uow:
            stored = await repo.payment_by_txn(uow.conn, request.channel, request.channel_txn_id)
        return _replay(stored, request)


def _replay(stored: repo.StoredPayment, request: PaymentRequest) -> PaymentOutcome:
    if stored.person_id != request.person_id or stored.amount != request.amount:
        raise Conflict("body.channel_txn_id",
                       "this channel transaction was already recorded for another person or amount")
    return PaymentOutcome(stored.result, created=False)


async def _record(service: Service, request: PaymentRequest) -> PaymentOutcome:
    """The payment written by one statement when it can be (``_record_at_once``), in a transaction
    holding the payer's locks otherwise, or when the payer kept changing under it."""
    if not reserves_apart(service.units, service.settings.voucher_block_size):
        return await _record_locked(service, request)
    return await at_once_else_locked(lambda: _record_at_once(service, request),
                                     lambda: _record_locked(service, request))


async def _record_at_once(service: Service, request: PaymentRequest) -> PaymentOutcome | ChangedMeanwhile:
    """Read the payer without locks, work the payment out, then write it in one statement that
    locks the account and writes only if the payer is still as read (``repo.RECORD_CHECKED_CTES``).

    The payment's connection is held for that one round trip instead of five (BEGIN, the locked
    read, the payment, the outbox, COMMIT), each a pass through the event loop: under load the pool
    is what payments queue for. A payment that settles arrears marks them in its transaction
    (``_record_locked``), and so does one whose voucher number must be reserved there.
    """
    async with service.units.lookup() as reading:
        payer = await repo.read_payer(reading.conn, request.person_id, request.channel, request.channel_txn_id)
    decided = _decide(service.settings, payer, request)
    if isinstance(decided, PaymentOutcome):
        return decided
    account, payment = decided
    if payment.settled:
        return await _record_locked(service, request)
    claim = VoucherClaim(numbers_of(service.units), service.settings, service.units)
    number = await claim.number_apart(account.region, payment.pay_date.year)
    if number is None:
        return await _record_locked(service, request)
    async with service.units.at_once() as uow:
        result, arguments = _written(service.settings, uow, account, payer.bills, request, payment, number)
        row = await uow.write(repo.RECORD_CHECKED_CTES, repo.RECORD_CHECKED_RESULT, [*arguments, payer.state],
                              gate="payment")
    if row["recorded"]:
        return PaymentOutcome(result, created=True)
    claim.unused()
    if row["unchanged"]:
        raise _RecordedMeanwhile()
    return CHANGED_MEANWHILE


async def _record_locked(service: Service, request: PaymentRequest) -> PaymentOutcome:
    """The payment in a transaction that locks the payer's account and bills first."""
    claim = VoucherClaim(numbers_of(service.units), service.settings, service.units)
    async with service.units.begin() as uow:
        payer = await repo.lock_payer(uow.conn, request.person_id, request.channel, request.channel_txn_id)
        decided = _decide(service.settings, payer, request)
        if isinstance(decided, PaymentOutcome):
            return decided
        account, payment = decided
        await mark_reported(uow.conn, payment.settled, request.paid_at)
        number = await claim.number(uow.conn, account.region, payment.pay_date.year)
        result, arguments = _written(service.settings, uow, account, payer.bills, request, payment, number)
        if not await repo.record_payment(uow.conn, arguments):
            claim.unused()
            raise _RecordedMeanwhile()
    claim.committed()
    return PaymentOutcome(result, created=True)


@dataclass(frozen=True)
class _Worked:
    """A payment worked out against its payer's unpaid bills, before its voucher number."""

    pay_date: date
    allocation: Allocation
    after: list[BillBalance]
    settled: list[SettledArrears]


def _decide(settings: BillingSettings, payer: repo.Payer, request: PaymentRequest
            ) -> tuple[repo.Account, _Worked] | PaymentOutcome:
    """Whether ``payer`` can be paid (else ``Rejected`` or ``OutOfScope``), the first answer again
    if the channel's transaction is known, or what the payment does."""
    account = payer.account
    if account is None:
        raise Rejected([("body.person_id", "no contribution account is known for this person")])
    if request.channel_region is not None and account.region != request.channel_region:
        raise OutOfScope(f"this channel token is for region {request.channel_region}; "
                         f"the person's account is in {account.region}")
    if payer.stored is not None:
        return _replay(payer.stored, request)
    pay_date = business_date(request.paid_at, settings.tz)
    problems = paid_before_cover(pay_date, account.covered_from)
    if problems:
        raise Rejected(problems)
    balances = {bill.balance.bill_id: bill.balance for bill in payer.bills if bill.unpaid}
    allocation = allocate(request.amount, [open_bill(balance, pay_date) for balance in balances.values()])
    after = [balances[part.bill_id].paid(pay_date, part.principal, part.late_fee) for part in allocation.applied]
    paid_in_full = {bill.bill_id for bill in after if bill.unpaid_principal == 0}
    return account, _Worked(pay_date, allocation, after,
                            settled_arrears(_arrears_after(account, payer.bills, paid_in_full)))


def _written(settings: BillingSettings, uow: UnitOfWork, account: repo.Account, bills: list[repo.PayerBill],
             request: PaymentRequest, payment: _Worked, number: int) -> tuple[dict[str, Any], list]:
    """Emit the payment's events (``PremiumPaid``, then ``ArrearsSettled`` if it settled them);
    the answer to the channel and the arguments of the payment's statement (``repo.record_arguments``)."""
    allocation = payment.allocation
    payment_id = uuid.uuid4()
    voucher_no = voucher_number(account.region, payment.pay_date.year, number)
    credit_balance = account.credit_balance + allocation.credit
    result = _result(payment_id, request, voucher_no, allocation, credit_balance)
    issued_at = now_utc()
    lines = {bill.balance.bill_id: bill.lines for bill in bills}
    arguments = repo.record_arguments(
        repo.NewPayment(payment_id=payment_id, person_id=request.person_id, amount=request.amount,
                        channel=request.channel, channel_txn_id=request.channel_txn_id,
                        paid_at=request.paid_at, credit_added=allocation.credit, result=result),
        [(part.bill_id, part.principal, part.late_fee) for part in allocation.applied], payment.after,
        _voucher(settings, account, payment_id, voucher_no, request, allocation, lines, issued_at), issued_at,
    )
    paid = uow.emit(premium_paid(payment_id, request, voucher_no, allocation, credit_balance),
                    subject=str(payment_id), region=account.region)
    # the arrears are settled by the payment: its chain, caused by its PremiumPaid
    announce_settled_arrears(uow, payment.settled, request.paid_at, correlation_id=paid.correlationid,
                             causation_id=paid.id)
    return result, arguments


def _arrears_after(account: repo.Account, bills: list[repo.PayerBill], paid_in_full: set[uuid.UUID]
                   ) -> list[ArrearsBill]:
    """The payer's bills of arrears once the payment is applied, as ``overdue.arrears_bills`` would
    read them after it."""
    found = (arrears_bill(account.person_id, bill.region, bill.balance.bill_id, bill.programmes,
                          "paid" if bill.balance.bill_id in paid_in_full else bill.status, bill.overdue_level,
                          bill.arrears_reported) for bill in bills)
    return [bill for bill in found if bill is not None]


def _voucher(settings: BillingSettings, account: repo.Account, payment_id: uuid.UUID, voucher_no: str,
             request: PaymentRequest, allocation: Allocation, lines: dict[uuid.UUID, tuple[tuple[str, str], ...]],
             issued_at: datetime) -> repo.StoredVoucher:
    """The signed voucher of the payment."""
    document = voucher_document(
        voucher_no=voucher_no, payment_id=payment_id, person_id=request.person_id, region=account.region,
        bills=[VoucherBill(part.bill_id, tuple(lines.get(part.bill_id, ())), part.principal, part.late_fee,
                           part.settles) for part in allocation.applied],
        amount=request.amount, credit=allocation.credit, channel=request.channel,
        channel_txn_id=request.channel_txn_id, paid_at=request.paid_at, issued_at=issued_at,
    )
    signer = voucher_signer(settings)
    return repo.StoredVoucher(voucher_no, request.person_id, account.region, document, signer.sign(document),
                              ALGORITHM, signer.key_id)


def premium_paid(payment_id: uuid.UUID, request: PaymentRequest, voucher_no: str, allocation: Allocation,
                 credit_balance: Decimal) -> PremiumPaid:
    """The ``PremiumPaid`` of a recorded payment: what it went to, and the credit left."""
    return PremiumPaid(
        payment_id=payment_id, person_id=request.person_id, amount=request.amount, channel=request.channel,
        channel_txn_id=request.channel_txn_id, paid_at=request.paid_at, voucher_no=voucher_no,
        applied=tuple(AppliedPayment(bill_id=part.bill_id, principal=part.principal, late_fee=part.late_fee)
                      for part in allocation.applied),
        credit_balance=credit_balance,
    )


def _result(payment_id: uuid.UUID, request: PaymentRequest, voucher_no: str, allocation: Allocation,
            credit_balance: Decimal) -> dict[str, Any]:
    return {
        "payment_id": str(payment_id),
        "person_id": str(request.person_id),
        "amount": f"{request.amount:.2f}",
        "channel": request.channel,
        "channel_txn_id": request.channel_txn_id,
        "paid_at": request.paid_at.isoformat(),
        "voucher_no": voucher_no,
        "applied": [
            {"bill_id": str(part.bill_id), "principal": f"{part.principal:.2f}", "late_fee": f"{part.late_fee:.2f}",
             "settled": part.settles}
            for part in allocation.applied
        ],
        "credit_added": f"{allocation.credit:.2f}",
        "credit_balance": f"{credit_balance:.2f}",
    }
