"""Payment reminders: the bills still open, as PremiumDue announced them and PremiumPaid
reduced them, and which of them get a reminder on a business date (7 days and 1 day before
the due date).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared.events import PremiumDue, PremiumPaid


@dataclass(frozen=True)
class OpenBill:
    """A bill not yet paid in full, as PremiumDue announced it and PremiumPaid reduced it."""

    bill_id: uuid.UUID
    person_id: uuid.UUID
    region: str
    months: tuple[str, ...]
    total: Decimal
    paid_principal: Decimal
    due_date: date
    due_event_id: uuid.UUID  # the PremiumDue event: what a reminder is about
    correlation_id: uuid.UUID

    @property
    def outstanding(self) -> Decimal:
        return max(self.total - self.paid_principal, Decimal("0.00"))


def bill_from(event: PremiumDue, *, due_event_id: uuid.UUID, correlation_id: uuid.UUID) -> OpenBill:
    """The bill a PremiumDue announces, nothing paid yet; ``due_event_id`` is that event's id."""
    return OpenBill(
        bill_id=event.bill_id, person_id=event.person_id, region=event.region, months=event.months,
        total=event.total, paid_principal=Decimal("0.00"), due_date=event.due_date,
        due_event_id=due_event_id, correlation_id=correlation_id,
    )


def principal_per_bill(payment: PremiumPaid) -> list[tuple[uuid.UUID, Decimal]]:
    """What a payment paid on each bill (bill id, principal): the late fee does not reduce a bill."""
    return [(applied.bill_id, applied.principal) for applied in payment.applied]


REMINDER_TEMPLATES: dict[int, str] = {7: "payment_reminder_7d", 1: "payment_reminder_1d"}


def reminder_due_dates(as_of: date) -> list[date]:
    """The due dates whose unpaid bills get a reminder on business date ``as_of``."""
    return [as_of + timedelta(days=days) for days in REMINDER_TEMPLATES]


def reminder_template(due: date, as_of: date) -> str | None:
    """Which reminder a bill due on ``due`` gets on ``as_of`` (7 days or 1 day before), if any."""
    return REMINDER_TEMPLATES.get((due - as_of).days)
