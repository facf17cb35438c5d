"""Recording notices: word one for a person, store it with its deliveries and announce its
inbox delivery (NotificationDelivered, channel ``inbox``), all in the caller's unit of work.
The reactions to consumed events and the reminder scan both come through here; sending on
the outside channels happens later, after commit (``deliveries``).

Every announcement of a notice keeps the notice's chain: its correlation id, and the event
the notice is about as its cause, whatever opened the unit (an event, the scan, the worker).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from services.notifications import repository
from services.notifications.domain.notices import NewNotification, compose, inbox_delivered
from services.notifications.domain.templates import variables
from shared.events import (
    ApplicationRejected,
    CertificateIssued,
    ContributionRepriced,
    DocumentsRejected,
    NotificationDelivered,
    NotificationFailed,
    PaymentOverdue,
    RefundIssued,
)
from shared.periods import now_utc
from shared.unit_of_work import Origin, UnitOfWork


@dataclass(frozen=True)
class NoticeAbout:
    """The notice ``template`` a person should get about an event (``cause``: handling it), in the
    event's region unless the event names the person's own."""

    cause: Origin
    person_id: uuid.UUID
    template: str
    variables_for: variables.VariablesFor
    region: str | None = None


async def notify(
    uow: UnitOfWork, *, person_id: uuid.UUID, template: str, variables_for: variables.VariablesFor,
    region: str | None = None,
) -> None:
    """Record the notice ``template`` about the event being handled (once, whatever the redelivery),
    in the event's region unless the event names the person's own."""
    await record(uow, await worded(uow, [NoticeAbout(uow.origin, person_id, template, variables_for, region)]))


async def worded(uow: UnitOfWork, wanted: Sequence[NoticeAbout]) -> list[NewNotification]:
    """The notices wanted, each worded for its person as they stand now (one query for them all);
    those the person switched off are left out."""
    recipients = await repository.recipients(uow.conn, [notice.person_id for notice in wanted])
    notices = (
        compose(template=notice.template, caused_by=notice.cause.causation_id,
                correlation_id=notice.cause.correlation_id, region=notice.region or notice.cause.region,
                recipient=recipients[notice.person_id], variables_for=notice.variables_for, now=now_utc())
        for notice in wanted
    )
    return [notice for notice in notices if notice is not None]


async def record(uow: UnitOfWork, notices: Sequence[NewNotification]) -> int:
    """Store the notices not recorded before and announce their inbox delivery; returns how many are new."""
    new = await repository.record_notifications(uow.conn, notices)
    for notice in new:
        announce(uow, inbox_delivered(notice), region=notice.region, correlation_id=notice.correlation_id)
    return len(new)


def announce(
    uow: UnitOfWork, outcome: NotificationDelivered | NotificationFailed, *, region: str, correlation_id: uuid.UUID
) -> None:
    """Emit a delivery's outcome in the notice's chain, caused by the event the notice is about."""
    uow.emit(outcome, subject=str(outcome.notification_id), region=region, correlation_id=correlation_id,
             causation_id=outcome.caused_by)


async def notify_rejection(uow: UnitOfWork, event: DocumentsRejected) -> None:
    await notify(uow, person_id=event.person_id, template="materials_rejected",
                 variables_for=variables.materials_rejected(event))


async def notify_overdue(uow: UnitOfWork, event: PaymentOverdue) -> None:
    await notify(uow, person_id=event.person_id, template="payment_overdue",
                 variables_for=variables.payment_overdue(event))


async def notify_repricing(uow: UnitOfWork, event: ContributionRepriced) -> None:
    await notify(uow, person_id=event.person_id, template="policy_changed", region=event.region,
                 variables_for=variables.policy_changed(event))


async def notify_application_rejected(uow: UnitOfWork, event: ApplicationRejected) -> None:
    await notify(uow, person_id=event.person_id, template="application_rejected",
                 variables_for=variables.application_rejected(event))


async def notify_refund(uow: UnitOfWork, event: RefundIssued) -> None:
    await notify(uow, person_id=event.person_id, template="refund_issued", variables_for=variables.refund_issued(event))


async def notify_certificate(uow: UnitOfWork, event: CertificateIssued) -> None:
    await notify(uow, person_id=event.person_id, template="certificate_issued",
                 variables_for=variables.certificate_issued(event))
