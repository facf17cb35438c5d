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
PersonId = Annotated[
    UUID, Field(description="The person: uuid5 of the normalised resident ID number (shared/identity.py)")
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# enrollment


class Contact(_Part):
    """How to reach the applicant."""

    phone: Text = Field(description="Mobile number for notices")
    email: str | None = Field(default=None, description="E-mail address for notices, when given")
    language: Language = Field(description="Language the person reads notices in")


class ApplicationSubmitted(EventPayload):
    """A resident applied to join one or more programmes."""

    source_service = "enrollment"

    application_id: UUID = Field(description="Id of the application")
    person_id: PersonId
    region: Region = Field(description="Region applied in (GB/T 2260 code)")
    programmes: Programmes = Field(description="Programmes applied for")
    declared_base: NonNegativeMoney = Field(description="Monthly contribution base the resident declared (CNY)")
    medical_base: NonNegativeMoney | None = Field(
        default=None, description="Separate monthly base for the medical programmes, when declared (else declared_base)"
    )
    frequency: Frequency = Field(description="How often the resident wants to pay")
    retirement_category: str | None = Field(default=None, description="Retirement category declared, if any")
    contact: Contact = Field(description="How to reach the applicant")


class ApplicationRejected(EventPayload):
    """An application was refused; ``reasons`` say why."""

    source_service = "enrollment"

    application_id: UUID = Field(description="Id of the application")
    person_id: PersonId
    reasons: Annotated[tuple[Text, ...], Field(min_length=1)] = Field(
        description="Why it was refused, one reason each"
    )


class ApplicationWithdrawn(EventPayload):
    """The resident withdrew an application before it was decided."""

    source_service = "enrollment"

    application_id: UUID = Field(description="Id of the application")
    person_id: PersonId


class EnrollmentActivated(EventPayload):
    """Coverage of one programme started for a person."""

    source_service = "enrollment"

    enrollment_id: UUID = Field(description="Id of the enrolment (one per person and programme)")
    person_id: PersonId
    application_id: UUID = Field(description="The application it came from")
    region: Region = Field(description="Region of the coverage (GB/T 2260 code)")
    programme: Programme = Field(description="Programme covered")
    base: NonNegativeMoney = Field(description="Monthly contribution base (CNY)")
    frequency: Frequency = Field(description="How often it is billed")
    start_month: Month = Field(description="First month covered and billed")
    waiting_until: date | None = Field(
        default=None, description="Medical programmes after a gap in coverage: benefits start after this date"
    )


class EnrollmentChanged(EventPayload):
    """The base and/or frequency of an enrolment changed from ``effective_month``."""

    source_service = "enrollment"

    enrollment_id: UUID = Field(description="Id of the enrolment")
    person_id: PersonId
    programme: Programme = Field(description="Programme covered")
    base: NonNegativeMoney = Field(description="New monthly contribution base (CNY)")
    frequency: Frequency = Field(description="New billing frequency")
    effective_month: Month = Field(description="First month the change applies to")


class EnrollmentSuspended(EventPayload):
    """Coverage of one programme was suspended, e.g. after 90 days overdue."""

    source_service = "enrollment"

    enrollment_id: UUID = Field(description="Id of the enrolment")
    person_id: PersonId
    programme: Programme = Field(description="Programme covered")
    reason: Text = Field(description="Why, e.g. a bill 90 days overdue")
    since: date = Field(description="Date from which coverage is suspended")


class EnrollmentReinstated(EventPayload):
    """Suspended coverage resumed, possibly after a waiting period."""

    source_service = "enrollment"

    enrollment_id: UUID = Field(description="Id of the enrolment")
    person_id: PersonId
    programme: Programme = Field(description="Programme covered")
    waiting_until: date | None = Field(
        default=None, description="Benefits resume after this date, when a waiting period applies"
    )


class EnrollmentTerminated(EventPayload):
    """Coverage of one programme ended; ``last_month`` is the last one covered."""

    source_service = "enrollment"

    enrollment_id: UUID = Field(description="Id of the enrolment")
    person_id: PersonId
    programme: Programme = Field(description="Programme covered")
    reason: Text = Field(description="Why coverage ended")
    last_month: Month = Field(description="Last month covered")


# documents


class DocumentReceived(EventPayload):
    """A resident uploaded one material for an application."""

    source_service = "documents"

    document_id: UUID = Field(description="Id of the stored file")
    application_id: UUID = Field(description="The application it belongs to")
    person_id: PersonId
    material: Material = Field(description="Which required material the file is")
    sha256: Sha256 = Field(description="SHA-256 of the file (hex)")
    size: Annotated[int, Field(gt=0)] = Field(description="Size of the file in bytes")


class VerifiedMaterial(_Part):
    """One approved material of a dossier."""

    material: Material = Field(description="Which required material")
    document_id: UUID = Field(description="The approved file")
    sha256: Sha256 = Field(description="SHA-256 of the approved file (hex)")


class DocumentsVerified(EventPayload):
    """Every required material of an application was approved."""

    source_service = "documents"

    application_id: UUID = Field(description="The application whose dossier is complete")
    person_id: PersonId
    materials: Annotated[tuple[VerifiedMaterial, ...], Field(min_length=1)] = Field(
        description="Every approved material"
    )
    verified_by: Text = Field(description="Caseworker who approved the last material")


class RejectedMaterial(_Part):
    """One material a caseworker rejected, with the reason; ``note`` may be empty."""

    material: Material = Field(description="Which required material")
    document_id: UUID = Field(description="The rejected file")
    reason: RejectionReason = Field(description="Why it was rejected")
    note: str = Field(description="The caseworker's note to the resident; may be empty")


class DocumentsRejected(EventPayload):
    """A caseworker rejected materials; the resident must replace them."""

    source_service = "documents"

    application_id: UUID = Field(description="The application")
    person_id: PersonId
    rejected: Annotated[tuple[RejectedMaterial, ...], Field(min_length=1)] = Field(
        description="The rejected materials"
    )


# billing


class PolicyPublished(EventPayload):
    """A new version of a region's policy for one programme, valid from ``effective_from``."""

    source_service = "billing"

    region: Region = Field(description="Region the policy applies to (GB/T 2260 code); also the message key")
    programme: Programme = Field(description="Programme priced")
    effective_from: date = Field(description="First day this version applies")
    base_floor: NonNegativeMoney | None = Field(default=None, description="Lowest monthly base allowed (CNY)")
    base_ceiling: NonNegativeMoney | None = Field(default=None, description="Highest monthly base allowed (CNY)")
    rate: Rate | None = Field(default=None, description="Contribution rate on the base, e.g. 0.2")
    personal_account_rate: Rate | None = Field(
        default=None, description="Part of the base credited to the personal account, e.g. 0.08"
    )
    flat_amount: NonNegativeMoney | None = Field(default=None, description="Fixed amount instead of base x rate (CNY)")
    flat_period: Literal["month", "year"] | None = Field(
        default=None, description="What flat_amount is for: a month or a year"
    )
    frequencies: Annotated[tuple[Frequency, ...], Field(min_length=1)] = Field(
        description="Payment frequencies offered"
    )
    due_day: Annotated[int, Field(ge=1, le=31)] = Field(description="Day of the month a bill falls due")
    grace_days: Annotated[int, Field(ge=0)] = Field(description="Days after the due date before a bill is overdue")
    late_fee_daily_rate: Rate = Field(description="Late fee per day overdue, on the unpaid principal, e.g. 0.0005")
    back_payment_allowed: bool = Field(description="Whether months missed in the past may be paid later")


class ContributionRepriced(EventPayload):
    """A new policy changed what one enrolment costs a month."""

    source_service = "billing"

    person_id: PersonId
    programme: Programme = Field(description="Programme repriced")
    region: Region = Field(description="Region of the policy (GB/T 2260 code)")
    effective_month: Month = Field(description="First month priced by the new policy")
    old_base: NonNegativeMoney = Field(description="Monthly base before (CNY)")
    new_base: NonNegativeMoney = Field(description="Monthly base from effective_month (CNY)")
    old_monthly_amount: NonNegativeMoney = Field(description="Monthly amount before (CNY)")
    new_monthly_amount: NonNegativeMoney = Field(description="Monthly amount from effective_month (CNY)")


class BillLine(_Part):
    """One month of one programme: ``amount`` is ``base × rate`` rounded half-up, or the
    programme's flat monthly amount (then ``base`` and ``rate`` are absent)."""

    programme: Programme = Field(description="Programme billed")
    month: Month = Field(description="Month covered")
    base: NonNegativeMoney | None = Field(default=None, description="Base used (absent when flat-priced)")
    rate: Rate | None = Field(default=None, description="Rate used (absent when flat-priced)")
    amount: NonNegativeMoney = Field(description="Amount of the line (CNY)")


class PremiumDue(EventPayload):
    """A bill was issued for the months of one cycle."""

    source_service = "billing"

    bill_id: UUID = Field(description="Id of the bill")
    person_id: PersonId
    region: Region = Field(description="Region of the person (GB/T 2260 code)")
    months: Annotated[tuple[Month, ...], Field(min_length=1)] = Field(description="Months billed")
    lines: Annotated[tuple[BillLine, ...], Field(min_length=1)] = Field(description="One line per programme and month")
    total: NonNegativeMoney = Field(description="Sum of the lines (CNY)")
    due_date: date = Field(description="Date the bill falls due (region's time zone)")
    # the part of ``total`` already covered by the person's credit when the bill was issued
    credit_applied: NonNegativeMoney | None = None


class AppliedPayment(_Part):
    """The part of a payment that went to one bill."""

    bill_id: UUID = Field(description="The bill paid")
    principal: NonNegativeMoney = Field(description="Part applied to the bill's premiums (CNY)")
    late_fee: NonNegativeMoney = Field(description="Part applied to its late fee (CNY)")


class PremiumPaid(EventPayload):
    """A payment arrived, was applied oldest bill first, and got a voucher."""

    source_service = "billing"

    payment_id: UUID = Field(description="Id of the payment")
    person_id: PersonId
    amount: NonNegativeMoney = Field(description="Amount received (CNY)")
    channel: Text = Field(description="Payment channel, e.g. a bank")
    channel_txn_id: Text = Field(description="The channel's transaction id (a repeat is the same payment)")
    paid_at: AwareDatetime = Field(description="When the channel took the payment")
    voucher_no: Text = Field(description="Number of the payment voucher")
    applied: tuple[AppliedPayment, ...] = Field(description="How the payment was applied, oldest bill first")
    credit_balance: NonNegativeMoney = Field(description="The person's credit left after it (CNY)")


class PaymentOverdue(EventPayload):
    """A bill is overdue; ``level`` is the escalation step reached (days)."""

    source_service = "billing"

    bill_id: UUID = Field(description="The overdue bill")
    person_id: PersonId
    programmes: Programmes = Field(description="Programmes on the bill")
    due_date: date = Field(description="Date the bill fell due")
    days_overdue: Annotated[int, Field(ge=0)] = Field(description="Days past the due date")
    level: OverdueLevel = Field(description="Escalation step reached: 1, 30, 60 or 90 days")
    unpaid_principal: NonNegativeMoney = Field(description="Premiums still unpaid (CNY)")
    late_fee_to_date: NonNegativeMoney = Field(description="Late fee accrued so far (CNY)")


class ArrearsSettled(EventPayload):
    """Everything a person owed for these programmes is paid."""

    source_service = "billing"

    person_id: PersonId
    programmes: Programmes = Field(description="Programmes whose arrears are paid")
    settled_at: AwareDatetime = Field(description="When the last overdue bill was paid")


class RefundIssued(EventPayload):
    """Money was returned to a person."""

    source_service = "billing"

    refund_id: UUID = Field(description="Id of the refund")
    person_id: PersonId
    amount: NonNegativeMoney = Field(description="Amount returned (CNY)")
    reason: Text = Field(description="Why")
    channel: Text | None = Field(default=None, description="Channel the money goes back through (that of its payments)")
    voucher_no: Text | None = Field(default=None, description="Number of the signed refund voucher")
    credit_balance: NonNegativeMoney | None = Field(default=None, description="The person's credit left after it (CNY)")


class CertificateIssued(EventPayload):
    """A certificate of contribution (参保缴费证明) was issued and can be verified by its number."""

    source_service = "billing"

    certificate_id: UUID = Field(description="Id of the certificate")
    certificate_no: Text = Field(description="Number of the certificate, for public verification")
    person_id: PersonId
    first_month: Month = Field(description="First month the certificate covers")
    last_month: Month = Field(description="Last month the certificate covers")
    programmes: Programmes = Field(description="Programmes it covers")
    language: Language = Field(description="Language it is rendered in")


# notifications


class _NotificationOutcome(EventPayload):
    source_service = "notifications"

    notification_id: UUID = Field(description="Id of the notification")
    person_id: PersonId
    channel: Text = Field(description="Channel used, e.g. sms or email")
    template: Text = Field(description="Template of the notice")
    caused_by: UUID = Field(description="id of the event the notification is about")
    error: str | None = Field(default=None, description="Why delivery failed (NotificationFailed)")


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
    CertificateIssued,
    NotificationDelivered,
    NotificationFailed,
)
