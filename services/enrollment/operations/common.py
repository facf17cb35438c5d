"""What the enrollment operations share.

Refusals are plain exceptions, answered by the routes: ``NotFound`` (404), ``Refused`` with
the broken rules (422), ``NotInRegion`` (403) and the domain's ``TransitionRefused`` (409).
Who may reach a person's records is the caller's rule, passed in as ``Authorize``: it is
asked once the record is loaded (its person and region known) and raises to refuse, before
anything changes. Reads return the aggregate with its recorded history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any
from uuid import UUID

import asyncpg

from services.enrollment import repository
from services.enrollment.domain.eligibility import Violation
from services.enrollment.domain.model import Application, Cause, Enrollment, Transition
from shared.events import Envelope
from shared.periods import business_date, now_utc
from shared.unit_of_work import UnitOfWork

Authorize = Callable[[UUID, str | None], None]
"""``authorize(person_id, region)`` raises unless the caller may reach that person's records
(in ``region``; None: any region)."""


class NotFound(Exception):
    """No ``what`` (application, enrollment, person) with id ``ident``."""

    def __init__(self, what: str, ident: UUID) -> None:
        super().__init__(f"no {what} {ident}")
        self.what = what
        self.ident = ident


class Refused(Exception):
    """The request breaks the rules named in ``violations``; nothing was stored."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.rule}" for v in violations))
        self.violations = list(violations)


class NotInRegion(Exception):
    """The person has no records in ``region``, the only one the caller may see."""

    def __init__(self, region: str) -> None:
        super().__init__(f"the person has no records in region {region}")
        self.region = region


@dataclass(frozen=True)
class EnrollmentRecord:
    enrollment: Enrollment
    history: list[Transition]


@dataclass(frozen=True)
class ApplicationRecord:
    """An application, its history and the enrolments it started."""

    application: Application
    history: list[Transition]
    enrollments: list[EnrollmentRecord]


def business_today(tz: tzinfo) -> date:
    """Today's business date in the region's time zone."""
    return business_date(now_utc(), tz)


def a_step(aggregate: str, aggregate_id: UUID, *, from_status: str | None, to_status: str, cause: Cause,
           event: Envelope | None = None, detail: dict[str, Any] | None = None) -> repository.Step:
    """One step in the history of an application or enrolment, with the event it emitted."""
    return repository.Step(aggregate, aggregate_id, from_status, to_status, cause,
                           event_type=event.type if event else None, event_id=event.id if event else None,
                           detail=detail)


async def record_step(
    uow: UnitOfWork, aggregate: str, aggregate_id: UUID, *, from_status: str | None, to_status: str, cause: Cause,
    event: Envelope | None = None, detail: dict[str, Any] | None = None,
) -> None:
    """Record one step in the history of an application or enrolment, with the event it emitted."""
    await repository.record_transitions(uow.conn, [a_step(aggregate, aggregate_id, from_status=from_status,
                                                          to_status=to_status, cause=cause, event=event,
                                                          detail=detail)])


async def visible_region(conn: asyncpg.Connection, person_id: UUID, region: str | None) -> None:
    """Refuse an unknown person (``NotFound``), and staff of a ``region`` the person has no
    records in (``NotInRegion``); ``region`` None is the person themself."""
    if not await repository.person_exists(conn, person_id):
        raise NotFound("person", person_id)
    if region is not None and region not in await repository.person_regions(conn, person_id):
        raise NotInRegion(region)


async def enrollment_records(conn: asyncpg.Connection, enrollments: list[Enrollment]) -> list[EnrollmentRecord]:
    """The enrolments with their histories."""
    steps = await repository.history(conn, [e.enrollment_id for e in enrollments])
    return [EnrollmentRecord(e, steps[e.enrollment_id]) for e in enrollments]
