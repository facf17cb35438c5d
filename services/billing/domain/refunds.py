"""Refunds: credit paid back, to the accounts it came from (DOMAIN.md, Refunds).

Credit is money a person paid and no bill needs: an overpayment, a payment made twice through
two channels, what was paid on months a region without back-payment marks missed, or on months
after the cover ended. A refund never takes more than the credit, and its money goes back
through the channels of the person's payments:

- first to the payments that left credit behind (``credit_added``), newest first — paying the
  same bill twice leaves the second payment as credit, and that is the one to undo;
- then, for credit that came back from bills (missed months, months after termination), to the
  newest payments, up to what each carried.

A payment never gets back more than it carried, whatever refunds went before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args
from uuid import UUID

from shared.money import CENT

ZERO = Decimal("0.00")
RefundReason = Literal["overpaid", "paid_twice", "terminated", "missed_months", "other"]
REASONS: tuple[str, ...] = get_args(RefundReason)


@dataclass(frozen=True)
class RefundSource:
    """A payment money can go back to, with what it left as credit and what was refunded on it."""

    payment_id: UUID
    channel: str
    channel_txn_id: str
    paid_at: datetime
    amount: Decimal
    credit_added: Decimal
    refunded: Decimal

    @property
    def returnable(self) -> Decimal:
        return max(ZERO, self.amount - self.refunded)


@dataclass(frozen=True)
class RefundPart:
    """The share of a refund that goes back through one payment's channel."""

    payment_id: UUID
    channel: str
    channel_txn_id: str
    amount: Decimal


def refund_problems(amount: Decimal, credit: Decimal) -> list[tuple[str, str]]:
    """What makes a refund of ``amount`` from ``credit`` unacceptable, as (field, reason)."""
    if credit <= 0:
        return [("body.amount", "there is no credit to refund")]
    problems = []
    if amount <= 0:
        problems.append(("body.amount", "a refund must be a positive amount"))
    if amount != amount.quantize(CENT):
        problems.append(("body.amount", "money has at most two decimal places"))
    if amount > credit:
        problems.append(("body.amount", f"a refund cannot exceed the credit of {credit:.2f}"))
    return problems


def split_refund(amount: Decimal, sources: Iterable[RefundSource]) -> tuple[RefundPart, ...]:
    """Split ``amount`` over the payments it goes back to (module docstring): newest first,
    those that left credit before the others. Raises ``ValueError`` if the payments carried
    less than ``amount`` (credit never exceeds what was paid, so that is a broken record)."""
    newest_first = sorted(sources, key=lambda s: (s.paid_at, str(s.payment_id)), reverse=True)
    taken: dict[UUID, Decimal] = {}
    remaining = amount
    # first pass: what each payment left as credit and was not refunded yet
    for source in newest_first:
        share = min(remaining, max(ZERO, source.credit_added - source.refunded), source.returnable)
        if share > 0:
            taken[source.payment_id] = share
            remaining -= share
    # second pass: credit that came back from bills, to the newest payments up to what they carried
    for source in newest_first:
        if remaining <= 0:
            break
        share = min(remaining, source.returnable - taken.get(source.payment_id, ZERO))
        if share > 0:
            taken[source.payment_id] = taken.get(source.payment_id, ZERO) + share
            remaining -= share
    if remaining > 0:
        raise ValueError(f"the payments carried less than the refund of {amount}")
    by_id = {source.payment_id: source for source in newest_first}
    return tuple(RefundPart(pid, by_id[pid].channel, by_id[pid].channel_txn_id, share)
                 for pid, share in taken.items())


def channels_of(parts: Iterable[RefundPart]) -> str:
    """The channels a refund goes back through, in the order of its parts: ``"alipay,unionpay"``."""
    return ",".join(dict.fromkeys(part.channel for part in parts))


def refund_document(
    *, voucher_no: str, refund_id: UUID, person_id: UUID, region: str, amount: Decimal, reason: str,
    parts: Iterable[RefundPart], credit_before: Decimal, issued_at: datetime,
) -> dict[str, Any]:
    """The refund voucher: what goes back, through which channel and payment, and the credit left.
    Signed like a payment voucher (``voucher.VoucherSigner``); ``kind`` tells the two apart."""
    return {
        "kind": "refund",
        "voucher_no": voucher_no,
        "refund_id": str(refund_id),
        "payee": str(person_id),
        "region": region,
        "reason": reason,
        "total": f"{amount:.2f}",
        "parts": [{"payment_id": str(part.payment_id), "channel": part.channel,
                   "channel_txn_id": part.channel_txn_id, "amount": f"{part.amount:.2f}"} for part in parts],
        "credit_before": f"{credit_before:.2f}",
        "credit_after": f"{credit_before - amount:.2f}",
        "issued_at": issued_at.isoformat(),
    }
