"""Who may apply for what (DOMAIN.md Eligibility, Resident ID numbers, Choosing the base).

Every rule returns ``Violation``s naming the form field and the rule broken, so that an
application is refused with all its faults at once and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.enrollment.domain.coverage import MEDICAL_PROGRAMMES, start_month_after
from services.enrollment.domain.policy import Policy, policies_in_force
from services.enrollment.domain.retirement import (
    CATEGORY_SEX,
    DEFAULT_CATEGORY,
    RetirementCategory,
    below_retirement_age,
    retirement_date,
)
from shared.identity import person_id_of
from shared.resident_id import InvalidResidentId, ResidentId, parse_resident_id

MINIMUM_AGE = 16


@dataclass(frozen=True)
class Violation:
    """One broken rule: the form ``field``, a machine-readable ``rule`` and a human ``reason``."""

    field: str
    rule: str
    reason: str


@dataclass(frozen=True)
class ApplicationForm:
    """What the applicant (or a caseworker on their behalf) filled in."""

    id_number: str
    name: str
    region: str
    programmes: tuple[str, ...]
    declared_base: Decimal
    frequency: str
    medical_base: Decimal | None = None
    birth_date: date | None = None
    sex: str | None = None
    retirement_category: RetirementCategory | None = None

    def priced_on(self, programme: str) -> tuple[str, Decimal]:
        """The form field a programme is priced on, and its value: medical programmes use the
        medical base when one is given, every other programme the declared base."""
        if programme in MEDICAL_PROGRAMMES and self.medical_base is not None:
            return "medical_base", self.medical_base
        return "declared_base", self.declared_base


@dataclass(frozen=True)
class Applicant:
    """The person behind a valid ID number, with their retirement category."""

    resident_id: ResidentId
    retirement_category: RetirementCategory

    @property
    def person_id(self) -> UUID:
        """The person's id, derived from the ID number (the same in every service)."""
        return person_id_of(self.resident_id)


@dataclass(frozen=True)
class PersonRecord:
    """What the service already knows of an applicant: the retirement category on record (None:
    a new person), the programmes they are enrolled in and those of their open applications."""

    retirement_category: RetirementCategory | None = None
    enrolled: frozenset[str] = frozenset()
    applied_for: frozenset[str] = frozenset()


def check_identity(form: ApplicationForm, today: date) -> tuple[Applicant | None, list[Violation]]:
    """The ID number, name, typed birth date and sex, minimum age and retirement category."""
    violations: list[Violation] = []
    if not form.name.strip():
        violations.append(Violation("name", "required", "the name must not be empty"))
    try:
        resident_id = parse_resident_id(form.id_number, today=today)
    except InvalidResidentId as invalid:
        return None, [Violation("id_number", invalid.rule, invalid.message), *violations]
    violations += _typed_facts_match(form, resident_id)
    violations += check_minimum_age(resident_id, today)
    category = form.retirement_category or DEFAULT_CATEGORY[resident_id.sex]
    if CATEGORY_SEX[category] != resident_id.sex:
        violations.append(Violation(
            "retirement_category", "not_for_sex",
            f"retirement category {category} is not one for a {resident_id.sex} applicant",
        ))
    return Applicant(resident_id, category), violations


def _typed_facts_match(form: ApplicationForm, resident_id: ResidentId) -> list[Violation]:
    violations = []
    if form.birth_date is not None and form.birth_date != resident_id.birth_date:
        violations.append(Violation("birth_date", "mismatch_id_number",
                                    "the birth date differs from the one in the ID number"))
    if form.sex is not None and form.sex != resident_id.sex:
        violations.append(Violation("sex", "mismatch_id_number", "the sex differs from the one in the ID number"))
    return violations


def check_minimum_age(resident_id: ResidentId, today: date) -> list[Violation]:
    """Applicants must be at least 16 years old."""
    if resident_id.age_on(today) >= MINIMUM_AGE:
        return []
    return [Violation("id_number", "minimum_age", f"the applicant must be at least {MINIMUM_AGE} years old")]


def check_pension_age(applicant: Applicant, programmes: Collection[str], today: date) -> list[Violation]:
    """Pension only below the statutory retirement age of the applicant's category."""
    birth = applicant.resident_id.birth_date
    if "pension" not in programmes or below_retirement_age(birth, applicant.retirement_category, today):
        return []
    reached = retirement_date(birth, applicant.retirement_category)
    return [Violation("programmes", "retirement_age",
                      f"pension is open only below the statutory retirement age, reached on {reached} "
                      f"(category {applicant.retirement_category})")]


def check_programmes(form: ApplicationForm, policies: Mapping[str, Policy]) -> list[Violation]:
    """Each programme once, offered in the region, the base within its range, the frequency allowed."""
    violations: list[Violation] = []
    seen: set[str] = set()
    for programme in form.programmes:
        if programme in seen:
            violations.append(Violation("programmes", "repeated", f"{programme} is listed more than once"))
            continue
        seen.add(programme)
        policy = policies.get(programme)
        if policy is None:
            violations.append(Violation("programmes", "not_offered",
                                        f"{programme} is not offered to individuals in region {form.region}"))
            continue
        field, base = form.priced_on(programme)
        violations += check_base(base, field, policy)
        violations += check_frequency(form.frequency, policy)
    if form.medical_base is not None and not seen & MEDICAL_PROGRAMMES:
        violations.append(Violation("medical_base", "without_medical_programme",
                                    "a medical base is given but no medical programme is applied for"))
    return violations


def check_base(base: Decimal, field: str, policy: Policy) -> list[Violation]:
    """A declared base within the policy's [floor, ceiling], both ends included."""
    if not policy.has_base_range or policy.base_within_range(base):
        return []
    if policy.base_floor is not None and base < policy.base_floor:
        return [Violation(field, "below_floor",
                          f"{base} is below the floor {policy.base_floor} of {policy.programme} "
                          f"in region {policy.region}")]
    return [Violation(field, "above_ceiling",
                      f"{base} is above the ceiling {policy.base_ceiling} of {policy.programme} "
                      f"in region {policy.region}")]


def check_frequency(frequency: str, policy: Policy) -> list[Violation]:
    """A payment frequency the region allows for the programme."""
    if frequency in policy.frequencies:
        return []
    return [Violation("frequency", "not_allowed",
                      f"{frequency} payment is not allowed for {policy.programme} in region {policy.region}; "
                      f"allowed: {', '.join(policy.frequencies)}")]


def check_not_already_covered(
    programmes: Collection[str], enrolled: Collection[str], applied_for: Collection[str]
) -> list[Violation]:
    """One active enrolment per person per programme, and no second open application for it."""
    violations = []
    for programme in dict.fromkeys(programmes):
        if programme in enrolled:
            violations.append(Violation("programmes", "already_enrolled",
                                        f"the person already has an enrolment in {programme}"))
        elif programme in applied_for:
            violations.append(Violation("programmes", "application_open",
                                        f"the person already has an open application for {programme}"))
    return violations


def policies_for_application(versions: Iterable[Policy], today: date) -> dict[str, Policy]:
    """The region's policies an application submitted on ``today`` is checked against: those in
    force in the earliest month its coverage can start (the month after today)."""
    return policies_in_force(versions, start_month_after(today).first_day)


def with_recorded_category(applicant: Applicant, given: RetirementCategory | None,
                           recorded: RetirementCategory | None) -> Applicant:
    """The category on the person's record holds for a later application that names none."""
    if given is None and recorded is not None:
        return replace(applicant, retirement_category=recorded)
    return applicant


def assess_application(
    form: ApplicationForm, applicant: Applicant | None, violations: list[Violation], *,
    policies: Mapping[str, Policy], record: PersonRecord | None, today: date,
) -> tuple[Applicant | None, list[Violation]]:
    """The rules that need the region's policies and the person's record, added to the identity's
    ``violations``: the programmes against ``policies`` (see ``policies_for_application``), then,
    for a valid ID number, the pension age in the recorded category and one enrolment per programme.
    """
    violations = violations + check_programmes(form, policies)
    if applicant is None:
        return None, violations
    record = record or PersonRecord()
    applicant = with_recorded_category(applicant, form.retirement_category, record.retirement_category)
    violations += check_pension_age(applicant, form.programmes, today)
    violations += check_not_already_covered(form.programmes, record.enrolled, record.applied_for)
    return applicant, violations
