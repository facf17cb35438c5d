"""Applications and enrolments as the service keeps them, and the decisions taken on them:
which enrolments an approval activates (and which programmes it skips), what a change of base
or frequency means, and the waiting period when suspended cover resumes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.enrollment.domain.coverage import (
    MEDICAL_PROGRAMMES,
    medical_waiting_until,
    next_unbilled_month,
    start_month_after,
)
from services.enrollment.domain.eligibility import Violation, check_base, check_frequency
from services.enrollment.domain.lifecycle import OPEN_APPLICATION
from services.enrollment.domain.policy import Policy, policies_in_force
from shared.periods import Month


def base_for(programme: str, declared_base: Decimal, medical_base: Decimal | None) -> Decimal:
    """The base a programme is priced on: medical programmes use the medical base when one is given.

    A flat-priced programme still carries the declared base (billing ignores it).
    """
    if programme in MEDICAL_PROGRAMMES and medical_base is not None:
        return medical_base
    return declared_base


@dataclass(frozen=True)
class Cause:
    """Why a transition happened: the event that caused it, or the request that asked for it."""

    event_id: UUID | None = None
    request: str | None = None

    @classmethod
    def of_request(cls, method: str, path: str, role: str, sub: str) -> Cause:
        return cls(request=f"{method} {path} by {role} {sub}")


@dataclass(frozen=True)
class Transition:
    """One recorded step in the life of an application or an enrolment."""

    at: datetime
    from_status: str | None
    to_status: str
    event_type: str | None
    event_id: UUID | None
    cause: Cause
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Application:
    application_id: UUID
    person_id: UUID
    region: str
    programmes: tuple[str, ...]
    declared_base: Decimal
    medical_base: Decimal | None
    frequency: str
    retirement_category: str
    status: str
    submitted_at: datetime
    decided_at: datetime | None = None
    rejected_materials: tuple[dict[str, Any], ...] = ()
    rejection_reasons: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        """Not decided yet: documents' outcomes still apply to it (a decided one ignores them)."""
        return self.status in OPEN_APPLICATION


@dataclass(frozen=True)
class Activation:
    """One enrolment an approval starts."""

    programme: str
    base: Decimal
    frequency: str
    start_month: Month
    waiting_until: date | None


def activations_for(application: Application, approved_on: date, last_medical_cover: Month | None) -> list[Activation]:
    """One enrolment per programme, starting the month after approval.

    ``last_medical_cover`` is the last month the person was covered by a medical programme
    before (``None`` for a first enrolment): a gap since then may mean a waiting period.
    """
    start = start_month_after(approved_on)
    return [
        Activation(
            programme=programme,
            base=base_for(programme, application.declared_base, application.medical_base),
            frequency=application.frequency,
            start_month=start,
            waiting_until=medical_waiting_until(programme, start, last_medical_cover),
        )
        for programme in application.programmes
    ]


@dataclass(frozen=True)
class Approval:
    """What approving an application does: the enrolments to activate, and the programmes
    skipped because the person was enrolled in them meanwhile (through another application)."""

    activations: list[Activation]
    already_enrolled: list[str]


def plan_approval(
    application: Application, approved_on: date, last_medical_cover: Month | None, enrolled: Collection[str]
) -> Approval:
    """The activations of ``activations_for``, less the programmes in ``enrolled`` (one active
    enrolment per person per programme), in the application's order."""
    activations, skipped = [], []
    for activation in activations_for(application, approved_on, last_medical_cover):
        if activation.programme in enrolled:
            skipped.append(activation.programme)
        else:
            activations.append(activation)
    return Approval(activations=activations, already_enrolled=skipped)


@dataclass(frozen=True)
class Enrollment:
    enrollment_id: UUID
    person_id: UUID
    application_id: UUID
    region: str
    programme: str
    base: Decimal
    frequency: str
    start_month: Month
    terms_from: Month
    status: str
    activated_at: datetime
    waiting_until: date | None = None
    suspended_since: date | None = None
    last_month: Month | None = None


@dataclass(frozen=True)
class Change:
    """New terms of an enrolment from ``effective_month`` on."""

    base: Decimal
    frequency: str
    effective_month: Month


def check_change_asked(base: Decimal | None, frequency: str | None) -> list[Violation]:
    """A change must name a new base, a new frequency or both."""
    if base is None and frequency is None:
        return [Violation("", "required", "give a new base, a new frequency or both")]
    return []


def policies_for_change(versions: Iterable[Policy], enrollment: Enrollment, today: date) -> dict[str, Policy]:
    """The region's policies a change asked for on ``today`` is checked against: those in force
    in its effective month, the next unbilled one."""
    return policies_in_force(versions, next_unbilled_month(today, enrollment.start_month).first_day)


def plan_change(
    enrollment: Enrollment, today: date, policies_then: dict[str, Policy],
    base: Decimal | None = None, frequency: str | None = None,
) -> tuple[Change, list[Violation]]:
    """The change asked for, effective from the next unbilled month, checked against the policy
    in force in that month (``policies_then``: the region's policies in force then)."""
    change = Change(
        base=enrollment.base if base is None else base,
        frequency=enrollment.frequency if frequency is None else frequency,
        effective_month=next_unbilled_month(today, enrollment.start_month),
    )
    policy = policies_then.get(enrollment.programme)
    if policy is None:
        return change, [Violation("programme", "not_offered",
                                  f"{enrollment.programme} is not offered in region {enrollment.region} "
                                  f"in {change.effective_month}")]
    violations = []
    if base is not None:
        violations += check_base(change.base, "base", policy)
    if frequency is not None:
        violations += check_frequency(change.frequency, policy)
    return change, violations


def reinstatement_waiting_until(enrollment: Enrollment, settled_on: date) -> date | None:
    """The waiting period of a medical enrolment resuming in the month arrears were settled.

    The suspension month is taken as the last month covered.
    """
    last_covered = Month.of(enrollment.suspended_since) if enrollment.suspended_since else None
    return medical_waiting_until(enrollment.programme, Month.of(settled_on), last_covered)
