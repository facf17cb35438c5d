"""The figures of the trade, counted in the kernel from the events units of work commit.

No service counts anything itself: whatever a service emits passes through the unit of work,
and once its transaction has committed (never for one rolled back) ``count_committed`` looks at
the events it wrote. An event re-published by an operator or delivered again is not written
again, so it is not counted twice. What counts as what:

- ApplicationSubmitted: ``shebao_applications_submitted_total``;
- DocumentsVerified: ``shebao_applications_approved_total``. An application is approved when a
  caseworker has approved its materials; the enrolments that follow are counted apart, one per
  programme, from EnrollmentActivated: ``shebao_enrolments_activated_total{programme}``;
- PremiumDue: ``shebao_bills_issued_total`` and ``shebao_bills_issued_cny_total`` (the bill's total);
- PremiumPaid: ``shebao_payments_received_total{channel}`` and ``shebao_payments_received_cny_total{channel}``;
- PaymentOverdue: ``shebao_bills_overdue_total{level}`` (1, 30, 60, 90);
- EnrollmentSuspended: ``shebao_enrolments_suspended_total{programme}``;
- NotificationDelivered / NotificationFailed: ``shebao_notifications_total{channel, outcome}``
  (``delivered`` / ``failed``).

Every counter carries the region of the event's envelope. Channel names come from outside (a
payment channel's request), so only a bounded set of plain names becomes a label value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from shared import metrics
from shared.events import Envelope

_PLAIN_LABEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
OTHER = "other"


class BoundedLabel:
    """Label values from outside, kept to at most ``limit`` plain names; the rest are ``other``.

    A label value is a time series for as long as Prometheus keeps data: a free-text field must
    never become an unbounded number of them.
    """

    def __init__(self, limit: int = 20) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value.strip().lower()
        if not _PLAIN_LABEL.match(value):
            return OTHER
        if value not in self._seen:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
        return value


_payment_channel = BoundedLabel()
_notice_channel = BoundedLabel()


def _submitted(envelope: Envelope) -> None:
    metrics.APPLICATIONS_SUBMITTED.labels(envelope.region).inc()


def _approved(envelope: Envelope) -> None:
    metrics.APPLICATIONS_APPROVED.labels(envelope.region).inc()


def _activated(envelope: Envelope) -> None:
    metrics.ENROLMENTS_ACTIVATED.labels(envelope.region, envelope.data.programme).inc()


def _bill_issued(envelope: Envelope) -> None:
    metrics.BILLS_ISSUED.labels(envelope.region).inc()
    metrics.BILLS_ISSUED_AMOUNT.labels(envelope.region).inc(float(envelope.data.total))


def _payment(envelope: Envelope) -> None:
    channel = _payment_channel(envelope.data.channel)
    metrics.PAYMENTS_RECEIVED.labels(envelope.region, channel).inc()
    metrics.PAYMENTS_RECEIVED_AMOUNT.labels(envelope.region, channel).inc(float(envelope.data.amount))


def _overdue(envelope: Envelope) -> None:
    metrics.BILLS_OVERDUE.labels(envelope.region, str(envelope.data.level)).inc()


def _suspended(envelope: Envelope) -> None:
    metrics.ENROLMENTS_SUSPENDED.labels(envelope.region, envelope.data.programme).inc()


def _notice(outcome: str) -> Callable[[Envelope], None]:
    def count(envelope: Envelope) -> None:
        metrics.NOTIFICATIONS.labels(envelope.region, _notice_channel(envelope.data.channel), outcome).inc()

    return count


_COUNTERS: dict[str, Callable[[Envelope], None]] = {
    "ApplicationSubmitted": _submitted,
    "DocumentsVerified": _approved,
    "EnrollmentActivated": _activated,
    "PremiumDue": _bill_issued,
    "PremiumPaid": _payment,
    "PaymentOverdue": _overdue,
    "EnrollmentSuspended": _suspended,
    "NotificationDelivered": _notice("delivered"),
    "NotificationFailed": _notice("failed"),
}


def count_committed(envelopes: Iterable[Envelope]) -> None:
    """Count the business events among ``envelopes``; call it only after their transaction committed."""
    for envelope in envelopes:
        count = _COUNTERS.get(envelope.type)
        if count is not None:
            count(envelope)
