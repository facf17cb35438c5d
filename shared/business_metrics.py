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
from collections import defaultdict
from collections.abc import Callable, Iterable

from prometheus_client import Counter

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


Tally = tuple[Counter, tuple[str, ...], float]
"""One addition to one counter: the counter, its label values, the amount."""


def _submitted(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.APPLICATIONS_SUBMITTED, (envelope.region,), 1),)


def _approved(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.APPLICATIONS_APPROVED, (envelope.region,), 1),)


def _activated(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.ENROLMENTS_ACTIVATED, (envelope.region, envelope.data.programme), 1),)


def _bill_issued(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.BILLS_ISSUED, (envelope.region,), 1),
            (metrics.BILLS_ISSUED_AMOUNT, (envelope.region,), float(envelope.data.total)))


def _payment(envelope: Envelope) -> Iterable[Tally]:
    labels = (envelope.region, _payment_channel(envelope.data.channel))
    return ((metrics.PAYMENTS_RECEIVED, labels, 1),
            (metrics.PAYMENTS_RECEIVED_AMOUNT, labels, float(envelope.data.amount)))


def _overdue(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.BILLS_OVERDUE, (envelope.region, str(envelope.data.level)), 1),)


def _suspended(envelope: Envelope) -> Iterable[Tally]:
    return ((metrics.ENROLMENTS_SUSPENDED, (envelope.region, envelope.data.programme), 1),)


def _notice(outcome: str) -> Callable[[Envelope], Iterable[Tally]]:
    def count(envelope: Envelope) -> Iterable[Tally]:
        return ((metrics.NOTIFICATIONS, (envelope.region, _notice_channel(envelope.data.channel), outcome), 1),)

    return count


_COUNTERS: dict[str, Callable[[Envelope], Iterable[Tally]]] = {
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
    """Count the business events among ``envelopes``; call it only after their transaction committed.

    Added up first, then one increment per counter and label values: a billing chunk's thousands
    of bills are two increments, not four thousand label look-ups.
    """
    totals: defaultdict[tuple[Counter, tuple[str, ...]], float] = defaultdict(float)
    for envelope in envelopes:
        tallies = _COUNTERS.get(envelope.type)
        if tallies is not None:
            for counter, labels, amount in tallies(envelope):
                totals[counter, labels] += amount
    for (counter, labels), amount in totals.items():
        counter.labels(*labels).inc(amount)
