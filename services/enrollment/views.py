"""What goes over HTTP: the request bodies of the enrollment API, and how applications,
enrolments and their histories look in its answers (money as decimal strings, months as
"YYYY-MM"). Rendering only: what is shown comes from the operations."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, WithJsonSchema

from services.enrollment.domain.eligibility import ApplicationForm
from services.enrollment.domain.model import Application, Enrollment, Transition
from services.enrollment.domain.retirement import RetirementCategory
from services.enrollment.operations.common import ApplicationRecord, EnrollmentRecord
from shared.events import Contact, Frequency, Language, Programme
from shared.money import NonNegativeMoney
from shared.resident_id import RESIDENT_ID_PATTERN
from shared.wire import IsoDate

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(\+86)?1[3-9][0-9]{9}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ApplicationRequest(BaseModel):
    """An application to join one or more programmes in a region."""

    id_number: Annotated[str, StringConstraints(max_length=32),
                         WithJsonSchema({"type": "string", "maxLength": 32, "pattern": RESIDENT_ID_PATTERN,
                                         "examples": ["110105199005171014"]})]
    name: Annotated[str, StringConstraints(max_length=100)]
    birth_date: IsoDate | None = Field(default=None, description="as typed; must match the ID number")
    sex: Literal["male", "female"] | None = Field(default=None, description="as typed; must match the ID number")
    phone: Phone
    email: Email | None = None
    language: Language = "zh-CN"
    region: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    programmes: list[Programme] = Field(min_length=1, max_length=6)
    declared_base: NonNegativeMoney
    medical_base: NonNegativeMoney | None = None
    frequency: Frequency
    retirement_category: RetirementCategory | None = Field(
        default=None, description="female_55 (the default for women) or female_50; men are male_60")

    def form(self) -> ApplicationForm:
        return ApplicationForm(
            id_number=self.id_number, name=self.name, region=self.region, programmes=tuple(self.programmes),
            declared_base=self.declared_base, frequency=self.frequency, medical_base=self.medical_base,
            birth_date=self.birth_date, sex=self.sex, retirement_category=self.retirement_category,
        )

    def contact(self) -> Contact:
        return Contact(phone=self.phone, email=self.email, language=self.language)


class SubmittedApplication(BaseModel):
    application_id: uuid.UUID
    person_id: uuid.UUID
    status: str


class RejectionRequest(BaseModel):
    reasons: list[Reason] = Field(min_length=1, max_length=20)


class ChangeRequest(BaseModel):
    """New base and/or frequency; they apply from the next unbilled month."""

    base: NonNegativeMoney | None = None
    frequency: Frequency | None = None


class TerminationRequest(BaseModel):
    reason: Reason = "terminated at the person's request"


# --- answers -----------------------------------------------------------------------------


def submitted_view(application: Application) -> dict[str, Any]:
    return {"application_id": application.application_id, "person_id": application.person_id,
            "status": application.status}


def withdrawn_view(application: Application) -> dict[str, Any]:
    return {"application_id": application.application_id, "status": application.status}


def rejected_view(application: Application) -> dict[str, Any]:
    return {"application_id": application.application_id, "status": application.status,
            "reasons": list(application.rejection_reasons)}


def application_record_view(record: ApplicationRecord) -> dict[str, Any]:
    """The application, its history and the enrolments it started."""
    return {
        **application_view(record.application),
        "history": [transition_view(step) for step in record.history],
        "enrollments": [enrollment_record_view(e) for e in record.enrollments],
    }


def person_applications_view(person_id: uuid.UUID, applications: list[Application]) -> dict[str, Any]:
    return {"person_id": person_id, "applications": [application_view(a) for a in applications]}


def person_enrollments_view(person_id: uuid.UUID, records: list[EnrollmentRecord]) -> dict[str, Any]:
    return {"person_id": person_id, "enrollments": [enrollment_record_view(r) for r in records]}


def enrollment_record_view(record: EnrollmentRecord) -> dict[str, Any]:
    return enrollment_view(record.enrollment, record.history)


def application_view(application: Application) -> dict[str, Any]:
    return {
        "application_id": application.application_id, "person_id": application.person_id,
        "region": application.region, "programmes": list(application.programmes),
        "declared_base": str(application.declared_base),
        "medical_base": str(application.medical_base) if application.medical_base is not None else None,
        "frequency": application.frequency, "retirement_category": application.retirement_category,
        "status": application.status, "submitted_at": application.submitted_at,
        "decided_at": application.decided_at, "rejected_materials": list(application.rejected_materials),
        "rejection_reasons": list(application.rejection_reasons),
    }


def enrollment_view(enrollment: Enrollment, steps: list[Transition]) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment.enrollment_id, "person_id": enrollment.person_id,
        "application_id": enrollment.application_id, "region": enrollment.region,
        "programme": enrollment.programme, "status": enrollment.status, "base": str(enrollment.base),
        "frequency": enrollment.frequency, "start_month": str(enrollment.start_month),
        "terms_from": str(enrollment.terms_from), "waiting_until": enrollment.waiting_until,
        "suspended_since": enrollment.suspended_since,
        "last_month": str(enrollment.last_month) if enrollment.last_month else None,
        "activated_at": enrollment.activated_at,
        "history": [transition_view(step) for step in steps],
    }


def transition_view(step: Transition) -> dict[str, Any]:
    return {
        "at": step.at, "from_status": step.from_status, "to_status": step.to_status,
        "event_type": step.event_type, "event_id": step.event_id,
        "cause": {"event_id": step.cause.event_id, "request": step.cause.request}, "detail": step.detail,
    }
