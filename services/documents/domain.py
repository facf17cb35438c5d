"""The rules of the documents service: which materials an application needs, who may hand
in, read and review them, what a file is by its bytes, how a caseworker's review moves a
material, when a dossier is verified or rejected, and how long materials are kept.

Pure: no database, no HTTP, no clock. Callers pass plain values (a caller's role, id and
region, a dossier's status) and turn the answers into responses and events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import get_args
from uuid import UUID

from shared.events import (
    DocumentsRejected,
    DocumentsVerified,
    Material,
    RejectedMaterial,
    RejectionReason,
    VerifiedMaterial,
)

MATERIALS: tuple[str, ...] = get_args(Material)
"""Every material code, in the order a checklist lists them (DOMAIN.md, Materials)."""
REJECTION_REASONS: tuple[str, ...] = get_args(RejectionReason)
DEFAULT_REGION = "*"
"""The region of the default requirement rows; a region's own rows override them."""


# --- the checklist ---------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """Whether ``programme`` needs ``material`` in ``region`` (``"*"``: every region)."""

    region: str
    programme: str
    material: str
    required: bool = True


def checklist(programmes: Iterable[str], region: str, requirements: Iterable[Requirement]) -> tuple[str, ...]:
    """The materials an application for ``programmes`` in ``region`` must hand in.

    A region's row for a (programme, material) pair overrides the ``"*"`` default for it,
    so a region can add a material (``required``) or drop a default one (not ``required``).
    """
    programmes = set(programmes)
    effective: dict[tuple[str, str], bool] = {}
    # defaults first, so that the region's own rows win
    for row in sorted(requirements, key=lambda row: row.region != DEFAULT_REGION):
        if row.region in (DEFAULT_REGION, region) and row.programme in programmes:
            effective[(row.programme, row.material)] = row.required
    return in_checklist_order(material for (_, material), required in effective.items() if required)


def in_checklist_order(materials: Iterable[str]) -> tuple[str, ...]:
    """``materials`` once each, in the order DOMAIN.md lists them (unknown codes dropped)."""
    wanted = set(materials)
    return tuple(material for material in MATERIALS if material in wanted)


# --- files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    """A file type the bureau accepts, recognised by the first bytes of the file."""

    name: str
    content_type: str
    extension: str
    signature: bytes


JPEG = FileType("jpeg", "image/jpeg", "jpg", b"\xff\xd8\xff")
PNG = FileType("png", "image/png", "png", b"\x89PNG\r\n\x1a\n")
PDF = FileType("pdf", "application/pdf", "pdf", b"%PDF-")
ACCEPTED_FILE_TYPES = (JPEG, PNG, PDF)
SIGNATURE_LENGTH = max(len(file_type.signature) for file_type in ACCEPTED_FILE_TYPES)
"""How many leading bytes decide a file's type."""


def detect_file_type(head: bytes) -> FileType | None:
    """The accepted type whose signature ``head`` starts with, or None (the name never counts)."""
    for file_type in ACCEPTED_FILE_TYPES:
        if head.startswith(file_type.signature):
            return file_type
    return None


def file_type_by_content_type(content_type: str) -> FileType:
    """The accepted type stored under ``content_type``."""
    return next(file_type for file_type in ACCEPTED_FILE_TYPES if file_type.content_type == content_type)


# --- review ----------------------------------------------------------------------------


class DocumentStatus(StrEnum):
    """Where one uploaded version stands with the caseworker."""

    RECEIVED = "received"
    APPROVED = "approved"
    REJECTED = "rejected"


class MaterialStatus(StrEnum):
    """Where a required material of a dossier stands: its current version's status, or missing."""

    MISSING = "missing"
    RECEIVED = "received"
    APPROVED = "approved"
    REJECTED = "rejected"


class DossierStatus(StrEnum):
    """A dossier is open for uploads and reviews until it is verified or its application ends."""

    OPEN = "open"
    VERIFIED = "verified"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewDecision:
    """A caseworker's verdict on one document: approve, or reject with a reason code."""

    decision: str
    reason: str | None = None
    note: str | None = None

    def problems(self) -> list[dict[str, str]]:
        """What is wrong with this decision, as ``{"field", "reason"}`` items (empty when fine)."""
        if self.decision == "approve":
            if self.reason is not None:
                return [{"field": "body.reason", "reason": "an approval carries no rejection reason"}]
            return []
        if self.decision != "reject":
            return [{"field": "body.decision", "reason": "must be approve or reject"}]
        if self.reason is None:
            return [{"field": "body.reason", "reason": f"a rejection needs a reason: {', '.join(REJECTION_REASONS)}"}]
        if self.reason not in REJECTION_REASONS:
            return [{"field": "body.reason", "reason": f"must be one of {', '.join(REJECTION_REASONS)}"}]
        if self.reason == "other" and not (self.note or "").strip():
            return [{"field": "body.note", "reason": "a rejection for 'other' needs a note saying why"}]
        return []

    @property
    def resulting_status(self) -> DocumentStatus:
        return DocumentStatus.APPROVED if self.decision == "approve" else DocumentStatus.REJECTED


def review_refusal(*, dossier_status: str, is_current: bool, document_status: str) -> str | None:
    """Why this document cannot be reviewed now (a 409), or None when it can.

    Only the current version of a material of an open dossier, not yet reviewed, takes a
    verdict: a verdict is final for that version; the resident replaces a rejected one.
    """
    if dossier_status != DossierStatus.OPEN:
        return f"the dossier is {dossier_status}"
    if not is_current:
        return "a newer version of this material was uploaded"
    if document_status != DocumentStatus.RECEIVED:
        return f"this version was already {document_status}"
    return None


@dataclass(frozen=True)
class MaterialState:
    """One required material of a dossier with its current version, if any."""

    material: str
    status: MaterialStatus
    document_id: UUID | None = None
    sha256: str | None = None
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Verified:
    """Every required material is approved."""

    materials: tuple[MaterialState, ...]


@dataclass(frozen=True)
class Rejected:
    """Materials the resident must replace."""

    materials: tuple[MaterialState, ...]


def outcome_of_review(decision: ReviewDecision, materials: Sequence[MaterialState]) -> Verified | Rejected | None:
    """What the dossier says after ``decision`` was recorded (``materials`` already include it).

    A rejection reports every material currently rejected; an approval that completes the
    checklist verifies the dossier; anything else waits for more reviews or uploads.
    """
    if decision.resulting_status is DocumentStatus.REJECTED:
        return Rejected(tuple(m for m in materials if m.status is MaterialStatus.REJECTED))
    if materials and all(m.status is MaterialStatus.APPROVED for m in materials):
        return Verified(tuple(materials))
    return None


def documents_verified(application_id: UUID, person_id: UUID, outcome: Verified, verified_by: str) -> DocumentsVerified:
    """The event telling enrollment that the application's materials are all approved."""
    return DocumentsVerified(
        application_id=application_id,
        person_id=person_id,
        materials=tuple(
            VerifiedMaterial(material=m.material, document_id=m.document_id, sha256=m.sha256)
            for m in outcome.materials
        ),
        verified_by=verified_by,
    )


def documents_rejected(application_id: UUID, person_id: UUID, outcome: Rejected) -> DocumentsRejected:
    """The event listing every material the resident must replace, with the reason."""
    return DocumentsRejected(
        application_id=application_id,
        person_id=person_id,
        rejected=tuple(
            RejectedMaterial(material=m.material, document_id=m.document_id, reason=m.reason, note=m.note or "")
            for m in outcome.materials
        ),
    )


# --- who may hand in, read and review -----------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who asks: a role, the caller's id (a resident's is their person id) and the region
    their token is scoped to."""

    role: str
    id: str
    region: str


class UploadRule(StrEnum):
    """The rule an upload broke."""

    NOT_THE_APPLICANT = "not_the_applicant"
    DOSSIER_CLOSED = "dossier_closed"
    MATERIAL_NOT_REQUIRED = "material_not_required"


@dataclass(frozen=True)
class UploadRefusal:
    """Why a dossier does not take an upload: the rule broken, and the reason as the caller reads it."""

    rule: UploadRule
    reason: str


def upload_refusal(caller: Caller, *, applicant: UUID, dossier_status: str, material: str,
                   checklist: Sequence[str]) -> UploadRefusal | None:
    """Why ``caller`` may not hand in ``material`` to this dossier now, or None when it may.

    Only the applicant hands in materials, only while the dossier is open, and only those
    on its checklist (listed in ``checklist``'s order when refused).
    """
    if caller.role != "resident" or caller.id != str(applicant):
        return UploadRefusal(UploadRule.NOT_THE_APPLICANT, "only the applicant uploads materials to a dossier")
    if dossier_status != DossierStatus.OPEN:
        return UploadRefusal(UploadRule.DOSSIER_CLOSED, f"the dossier is {dossier_status}")
    if material not in checklist:
        return UploadRefusal(UploadRule.MATERIAL_NOT_REQUIRED,
                             f"this application needs only {', '.join(checklist) or 'nothing'}")
    return None


def may_read(caller: Caller, *, owner: UUID, region: str) -> bool:
    """Whether ``caller`` may open a file of ``owner``'s dossier in ``region``: the owner, or
    a caseworker of the region (every read is audited by the caller)."""
    if caller.role == "resident":
        return caller.id == str(owner)
    return caller.role == "caseworker" and caller.region == region


def may_review(caller: Caller, *, region: str) -> bool:
    """Whether ``caller`` may give a verdict on a material of a dossier in ``region``: a
    caseworker of that region."""
    return caller.role == "caseworker" and caller.region == region


def sees_duplicates(caller: Caller) -> bool:
    """Whether ``caller`` is shown that another person uploaded the same file: a hint for
    staff, not an accusation shown to the resident."""
    return caller.role != "resident"


# --- retention -------------------------------------------------------------------------


def retention_cutoff(as_of: date, years: int) -> date:
    """The last closing date whose materials are past a retention of ``years`` on ``as_of``.

    A dossier closed on D is kept ``years`` full years and purged from D's anniversary on;
    one closed on 29 February counts its anniversary from 1 March in common years.
    """
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:  # as_of is 29 February and the year ``years`` back is not a leap year
        return as_of.replace(year=as_of.year - years, day=28)
