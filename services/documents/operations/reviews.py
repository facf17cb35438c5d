"""A caseworker's verdict on one version of a material, and what it decides for the dossier.

The verdict, the dossier's new status and the event it causes commit in one unit of work:
``DocumentsVerified`` when an approval completes the checklist (once: the dossier is then
closed), ``DocumentsRejected`` with every material currently rejected when it rejects one.
The dossier row is locked for the unit, so two verdicts on one dossier never race.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from services.documents import domain, repository
from services.documents.domain import ReviewDecision
from services.documents.operations.answers import caller_of, not_found, not_reviewable
from shared.auth import Principal, forbidden
from shared.errors import ApiError
from shared.periods import now_utc
from shared.unit_of_work import UnitOfWork, UnitsOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReviewResult:
    review_id: UUID
    document_id: UUID
    status: str
    reviewer: str
    reviewed_at: datetime
    dossier_outcome: str | None  # "verified", "rejected" or None while review goes on


async def review_document(
    units: UnitsOfWork, *, principal: Principal, document_id: UUID, decision: str, reason: str | None = None,
    note: str | None = None,
) -> ReviewResult:
    """Record a caseworker's ``decision`` (approve, or reject with a ``reason`` code and, for
    ``other``, a ``note``) on a version; a 422 before anything is read when it is incomplete."""
    verdict = ReviewDecision(decision, reason, note)
    problems = verdict.problems()
    if problems:
        raise ApiError(422, "validation_error", problems)
    async with units.begin() as uow:
        result = await _record(uow, principal, document_id, verdict)
    if result.dossier_outcome is not None:
        log.info("dossier decided", document_id=str(document_id), outcome=result.dossier_outcome)
    return result


async def _record(uow: UnitOfWork, principal: Principal, document_id: UUID, verdict: ReviewDecision) -> ReviewResult:
    application_id = await repository.application_of_document(uow.conn, document_id)
    if application_id is None:
        raise not_found("document", "path.document_id")
    dossier = await repository.dossier(uow.conn, application_id, for_update=True)  # one verdict at a time
    document = await repository.document(uow.conn, document_id)
    if not domain.may_review(caller_of(principal), region=document["region"]):
        raise forbidden(f"this token is scoped to region {principal.region}")
    refusal = domain.review_refusal(dossier_status=dossier["status"], is_current=document["is_current"],
                                    document_status=document["status"])
    if refusal is not None:
        raise not_reviewable(refusal)
    review_id, reviewed_at = uuid.uuid4(), now_utc()
    await repository.record_review(
        uow.conn, review_id=review_id, document_id=document_id, decision=verdict.decision,
        status=verdict.resulting_status, reason=verdict.reason, note=verdict.note, reviewer=principal.sub,
        reviewed_at=reviewed_at,
    )
    outcome = domain.outcome_of_review(verdict, await repository.material_states(uow.conn, application_id))
    if outcome is not None:
        await _decide_dossier(uow, dossier, outcome, principal.sub, reviewed_at)
    return ReviewResult(review_id, document_id, verdict.resulting_status, principal.sub, reviewed_at,
                        _outcome_name(outcome))


async def _decide_dossier(uow: UnitOfWork, dossier: asyncpg.Record, outcome: domain.Verified | domain.Rejected,
                          reviewer: str, at: datetime) -> None:
    application_id = dossier["application_id"]
    if isinstance(outcome, domain.Verified):
        await repository.verify_dossier(uow.conn, application_id, verified_by=reviewer, at=at)
        event = domain.documents_verified(application_id, dossier["person_id"], outcome, reviewer)
    else:
        event = domain.documents_rejected(application_id, dossier["person_id"], outcome)
    uow.emit(event, subject=str(application_id), region=dossier["region"])


def _outcome_name(outcome: domain.Verified | domain.Rejected | None) -> str | None:
    if outcome is None:
        return None
    return "verified" if isinstance(outcome, domain.Verified) else "rejected"
