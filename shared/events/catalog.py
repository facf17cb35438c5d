"""Every event Shebao publishes (DESIGN.md §7), one payload model per event type.

Models are the contract between services: add fields as optional, never remove or
retype one (``tests/unit/test_event_contract.py`` enforces it); a breaking change goes
to a ``.v2`` topic.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.events.envelope import EventPayload, Region, register_event_types
from shared.money import NonNegativeMoney, Rate

Programme = Literal["pension", "medical_employee", "medical_resident", "unemployment", "work_injury", "maternity"]
Frequency = Literal["monthly", "quarterly", "half_yearly", "annual"]
Language = Literal["zh-CN", "en"]
Material = Literal["id_card", "household_register", "social_security_card", "work_unit_certificate"]
RejectionReason = Literal["illegible", "expired", "mismatch", "incomplete", "other"]
OverdueLevel = Literal[1, 30, 60, 90]

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
"""A calendar month, "YYYY-MM"."""
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(min_length=1)]

Programmes = Annotated[tuple[Programme, ...], Field(min_length=1)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# enrollment


class Contact(_Part):
    """How to reach the applicant."""

    phone: Text
    email: str | None = None
    language: Language


class ApplicationSubmitted(EventPayload):
    """A resident applied to join one or more programmes."""

    source_service = "enrollment"

    application_id: UUID
    person_id: UUID
    region: Region
    programmes: Programmes
    declared_base: NonNegativeMoney
    medical_base: NonNegativeMoney | None = None
    frequency: Frequency
    retirement_category: str | None = None
    contact: Contact


class ApplicationRejected(EventPayload):
    """An application was refused; ``reasons`` say why."""

    source_service = "enrollment"

    application_id: UUID
    person_id: UUID
    reasons: Annotated[tuple[Text, ...], Field(min_length=1)]


class ApplicationWithdrawn(EventPayload):
    """The resident withdrew an application before it was decided."""

    source_service = "enrollment"

    application_id: UUID
    person_id: UUID


class EnrollmentActivated(EventPayload):
    """Coverage of one programme started for a person."""

    source_service = "enrollment"

    enrollment_id: UUID
    person_id: UUID
    application_id: UUID
    region: Region
    programme: Programme
    base: NonNegativeMoney
    frequency: Frequency
    start_month: Month
    waiting_until: date | None = None


class EnrollmentChanged(EventPayload):
    """The base and/or frequency of an enrolment changed from ``effective_month``."""

    source_service = "enrollment"

    enrollment_id: UUID
    person_id: UUID
    programme: Programme
    base: NonNegativeMoney
    frequency: Frequency
    effective_month: Month


class EnrollmentSuspended(EventPayload):
    """Coverage of one programme was suspended, e.g. after 90 days overdue."""

    source_service = "enrollment"

    enrollment_id: UUID
    person_id: UUID
    programme: Programme
    reason: Text
    since: date


class EnrollmentReinstated(EventPayload):
    """Suspended coverage resumed, possibly after a waiting period."""

    source_service = "enrollment"

    enrollment_id: UUID
    person_id: UUID
    programme: Programme
    waiting_until: date | None = None


class EnrollmentTerminated(EventPayload):
    """Coverage of one programme ended; ``last_month`` is the last one covered."""

    source_service = "enrollment"

    enrollment_id: UUID
    person_id: UUID
    programme: Programme
    reason: Text
    last_month: Month


# documents


class DocumentReceived(EventPayload):
    """A resident uploaded one material for an application."""

    source_service = "documents"

    document_id: UUID
    application_id: UUID
    person_id: UUID
    material: Material
    sha256: Sha256
    size: Annotated[int, Field(gt=0)]


class VerifiedMaterial(_Part):
    """One approved material of a dossier."""

    material: Material
    document_id: UUID
    sha256: Sha256


class DocumentsVerified(EventPayload):
    """Every required material of an application was approved."""

    source_service = "documents"

    application_id: UUID
    person_id: UUID
    materials: Annotated[tuple[VerifiedMaterial, ...], Field(min_length=1)]
    verified_by: Text


class RejectedMaterial(_Part):
    """One material a caseworker rejected, with the reason; ``note`` may be empty."""

    material: Material
    document_id: UUID
    reason: RejectionReason
    note: str


class DocumentsRejected(EventPayload):
    """A caseworker rejected materials; the resident must replace them."""

    source_service = "documents"

    application_id: UUID
    person_id: UUID
    rejected: Annotated[tuple[RejectedMaterial, ...], Field(min_length=1)]


# billing


class PolicyPublished(EventPayload):
    """A new version of a region's policy for one programme, valid from ``effective_from``."""

    source_service = "billing"

    region: Region
    programme: Programme
    effective_from: date
    base_floor: NonNegativeMoney | None = None
    base_ceiling: NonNegativeMoney | None = None
    rate: Rate | None = None
    personal_account_rate: Rate | None = None
    flat_amount: NonNegativeMoney | None = None
    flat_period: Literal["month", "year"] | None = None
    frequencies: Annotated[tuple[Frequency, ...], Field(min_length=1)]
    due_day: Annotated[int, Field(ge=1, le=31)]
    grace_days: Annotated[int, Field(ge=0)]
    late_fee_daily_rate: Rate
    back_payment_allowed: bool


class ContributionRepriced(EventPayload):
    """A new policy changed what one enrolment costs a month."""

    source_service = "billing"

    person_id: UUID
    programme: Programme
    region: Region
    effective_month: Month
    old_base: NonNegativeMoney
    new_base: NonNegativeMoney
    old_monthly_amount: NonNegativeMoney
    new_monthly_amount: NonNegativeMoney


class BillLine(_Part):
    """One month of one programme: ``amount`` is ``base × rate`` rounded half-up, or the
    programme's flat monthly amount (then ``base`` and ``rate`` are absent)."""

    programme: Programme
    month: Month
    base: NonNegativeMoney | None = None
    rate: Rate | None = None
    amount: NonNegativeMoney


class PremiumDue(EventPayload):
    """A bill was issued for the months of one cycle."""

    source_service = "billing"

    bill_id: UUID
    person_id: UUID
    region: Region
    months: Annotated[tuple[Month, ...], Field(min_length=1)]
    lines: Annotated[tuple[BillLine, ...], Field(min_length=1)]
    total: NonNegativeMoney
    due_date: date


class AppliedPayment(_Part):
    """The part of a payment that went to one bill."""

    bill_id: UUID
    principal: NonNegativeMoney
    late_fee: NonNegativeMoney


class PremiumPaid(EventPayload):
    """A payment arrived, was applied oldest bill first, and got a voucher."""

    source_service = "billing"

    payment_id: UUID
    person_id: UUID
    amount: NonNegativeMoney
    channel: Text
    channel_txn_id: Text
    paid_at: AwareDatetime
    voucher_no: Text
    applied: tuple[AppliedPayment, ...]
    credit_balance: NonNegativeMoney


class PaymentOverdue(EventPayload):
    """A bill is overdue; ``level`` is the escalation step reached (days)."""

    source_service = "billing"

    bill_id: UUID
    person_id: UUID
    programmes: Programmes
    due_date: date
    days_overdue: Annotated[int, Field(ge=0)]
    level: OverdueLevel
    unpaid_principal: NonNegativeMoney
    late_fee_to_date: NonNegativeMoney


class ArrearsSettled(EventPayload):
    """Everything a person owed for these programmes is paid."""

    source_service = "billing"

    person_id: UUID
    programmes: Programmes
    settled_at: AwareDatetime


class RefundIssued(EventPayload):
    """Money was returned to a person."""

    source_service = "billing"

    refund_id: UUID
    person_id: UUID
    amount: NonNegativeMoney
    reason: Text


# notifications


class _NotificationOutcome(EventPayload):
    source_service = "notifications"

    notification_id: UUID
    person_id: UUID
    channel: Text
    template: Text
    caused_by: UUID = Field(description="id of the event the notification is about")
    error: str | None = None


class NotificationDelivered(_NotificationOutcome):
    """A notification reached the person."""


class NotificationFailed(_NotificationOutcome):
    """A notification could not be delivered; ``error`` says why."""


register_event_types(
    ApplicationSubmitted,
    ApplicationRejected,
    ApplicationWithdrawn,
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentSuspended,
    EnrollmentReinstated,
    EnrollmentTerminated,
    DocumentReceived,
    DocumentsVerified,
    DocumentsRejected,
    PolicyPublished,
    ContributionRepriced,
    PremiumDue,
    PremiumPaid,
    PaymentOverdue,
    ArrearsSettled,
    RefundIssued,
    NotificationDelivered,
    NotificationFailed,
)
