"""All SQL of the enrollment service (asyncpg) and the mapping of its rows to domain records.

Every function runs on the connection it is given (an operation's ``uow.conn``), inside that
unit of work's transaction, and none opens one; ``read_applicant`` and ``INSERT_CHECKED_CTES`` are
single statements that need none (an application's, ``operations/applications.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.enrollment.domain.coverage import MEDICAL_PROGRAMMES
from services.enrollment.domain.eligibility import Applicant, PersonRecord
from services.enrollment.domain.lifecycle import OPEN_APPLICATION, OPEN_ENROLLMENT
from services.enrollment.domain.model import Application, Cause, Enrollment, Transition
from services.enrollment.domain.policy import Policy
from shared.periods import Month

# --- policies ----------------------------------------------------------------------------


async def save_policy(conn: asyncpg.Connection, policy: Policy, published_by: UUID) -> None:
    """Keep one policy version; a version published again for the same date replaces it."""
    await conn.execute(
        """INSERT INTO policies (region, programme, effective_from, base_floor, base_ceiling, frequencies, published_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (region, programme, effective_from) DO UPDATE
           SET base_floor = EXCLUDED.base_floor, base_ceiling = EXCLUDED.base_ceiling,
               frequencies = EXCLUDED.frequencies, published_by = EXCLUDED.published_by, received_at = now()""",
        policy.region, policy.programme, policy.effective_from, policy.base_floor, policy.base_ceiling,
        list(policy.frequencies), published_by,
    )


_POLICY_COLUMNS = "region, programme, effective_from, base_floor, base_ceiling, frequencies"
_REGION_POLICIES = f"SELECT {_POLICY_COLUMNS} FROM policies WHERE region = $1"


async def region_policies(conn: asyncpg.Connection, region: str) -> list[Policy]:
    """Every known policy version of ``region`` (a handful of rows per programme)."""
    return [_policy(*row) for row in await conn.fetch(_REGION_POLICIES, region)]


async def lock_person_reading_policies(conn: asyncpg.Connection, person_id: UUID, region: str) -> list[Policy]:
    """``lock_person`` and ``region_policies`` in one round trip (what an application does first).
    The policies are not what the lock guards, so reading them in the lock's statement, as of its
    start, is as good as after it."""
    row = await conn.fetchrow(
        f"SELECT {_LOCK_PERSON.format(key='$2')} AS locked, {_policies_array('$1')} AS policies",
        region, _person_lock_key(person_id),
    )
    return [_policy(*policy) for policy in row["policies"]]


def _policies_array(region: str) -> str:
    """The policies of the region that parameter ``region`` names, as an array of rows (``_policy``)."""
    return f"ARRAY(SELECT ROW({_POLICY_COLUMNS}) FROM policies WHERE region = {region})"


def _policy(region: str, programme: str, effective_from: date, base_floor: Decimal | None,
            base_ceiling: Decimal | None, frequencies: list[str]) -> Policy:
    return Policy(region, programme, effective_from, base_floor, base_ceiling, tuple(frequencies))


# --- persons -----------------------------------------------------------------------------


async def lock_person(conn: asyncpg.Connection, person_id: UUID) -> None:
    """Serialise the transactions that decide about one person (two applications at once)."""
    await conn.execute(f"SELECT {_LOCK_PERSON.format(key='$1')}", _person_lock_key(person_id))


_LOCK_PERSON = "pg_advisory_xact_lock(hashtextextended({key}, 7))"


def _person_lock_key(person_id: UUID) -> str:
    return f"enrollment.person.{person_id}"


async def person_exists(conn: asyncpg.Connection, person_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM persons WHERE person_id = $1", person_id))


async def person_regions(conn: asyncpg.Connection, person_id: UUID) -> set[str]:
    """The regions the person has applied in."""
    rows = await conn.fetch("SELECT DISTINCT region FROM applications WHERE person_id = $1", person_id)
    return {row["region"] for row in rows}


async def covered_programmes(conn: asyncpg.Connection, person_id: UUID) -> tuple[set[str], set[str]]:
    """The programmes the person is enrolled in, and those of their open applications."""
    enrolled = await conn.fetch(
        "SELECT programme FROM enrollments WHERE person_id = $1 AND status = ANY($2::text[])",
        person_id, sorted(OPEN_ENROLLMENT),
    )
    applied = await conn.fetch(
        "SELECT DISTINCT unnest(programmes) AS programme FROM applications "
        "WHERE person_id = $1 AND status = ANY($2::text[])",
        person_id, sorted(OPEN_APPLICATION),
    )
    return {row["programme"] for row in enrolled}, {row["programme"] for row in applied}


async def person_record(conn: asyncpg.Connection, person_id: UUID) -> PersonRecord:
    """What an application of the person is checked against: category on record, enrolments, open
    applications (one statement, so one view of them)."""
    row = await conn.fetchrow(f"SELECT {_PERSON_RECORD}", person_id, *_OPEN_STATUSES)
    return _person_record(row)


async def read_applicant(conn: asyncpg.Connection, region: str, person_id: UUID | None
                         ) -> tuple[list[Policy], PersonRecord, str]:
    """``region_policies``, ``person_record`` (empty for no person) and the person's state
    (``person_state``, migration 002: what ``INSERT_CHECKED_CTES`` compares), in one statement
    without a lock."""
    row = await conn.fetchrow(
        f"SELECT {_PERSON_RECORD}, person_state($1) AS state, {_policies_array('$4')} AS policies",
        person_id, *_OPEN_STATUSES, region,
    )
    return [_policy(*policy) for policy in row["policies"]], _person_record(row), row["state"]


# $1 the person, $2 and $3 ``_OPEN_STATUSES``
_PERSON_RECORD = """(SELECT retirement_category FROM persons WHERE person_id = $1) AS retirement_category,
    ARRAY(SELECT programme FROM enrollments WHERE person_id = $1 AND status = ANY($2::text[])) AS enrolled,
    ARRAY(SELECT DISTINCT unnest(programmes) FROM applications
          WHERE person_id = $1 AND status = ANY($3::text[])) AS applied_for"""
_OPEN_STATUSES = (sorted(OPEN_ENROLLMENT), sorted(OPEN_APPLICATION))


def _person_record(row: asyncpg.Record) -> PersonRecord:
    return PersonRecord(retirement_category=row["retirement_category"], enrolled=frozenset(row["enrolled"]),
                        applied_for=frozenset(row["applied_for"]))


# --- applications ------------------------------------------------------------------------


# The steps as parameters $1 to $9 (``_step_columns``), inserted in their order: with the application's
# statement (``_application_ctes``) or alone (``record_transitions``).
def _insert_steps(only_if: str = "true") -> str:
    return f"""INSERT INTO transitions (aggregate, aggregate_id, from_status, to_status, event_type, event_id,
                         cause_event_id, cause_request, detail)
SELECT s.aggregate, s.aggregate_id, s.from_status, s.to_status, s.event_type, s.event_id, s.cause_event_id,
       s.cause_request, s.detail
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::text[],
            $9::jsonb[])
     WITH ORDINALITY AS s(aggregate, aggregate_id, from_status, to_status, event_type, event_id, cause_event_id,
                          cause_request, detail, position)
WHERE {only_if}
ORDER BY s.position"""


_INSERT_STEPS = _insert_steps()


async def insert_application(conn: asyncpg.Connection, arguments: list) -> None:
    """The person (created once per ID number; a later application refreshes the contact details),
    the application and its first steps, in one statement: ``application_arguments``."""
    await conn.execute(_INSERT_APPLICATION, *arguments)


def application_arguments(applicant: Applicant, name: str, application: Application, steps: Sequence[Step], *,
                          phone: str, email: str | None, language: str) -> list:
    """``$1`` … ``$26`` of the application's statement: its steps' columns, the person, the application."""
    return [
        *_step_columns(steps),
        applicant.person_id, applicant.resident_id.number, name, applicant.resident_id.birth_date,
        applicant.resident_id.sex, applicant.retirement_category, application.region, phone, email, language,
        application.application_id, list(application.programmes), application.declared_base,
        application.medical_base, application.frequency, application.status, application.submitted_at,
    ]


def _application_ctes(written_if: str) -> str:
    """``person``, ``application`` and ``steps``, writing nothing unless ``written_if``."""
    return f"""person AS (
    INSERT INTO persons (person_id, id_number, name, birth_date, sex, retirement_category, region, phone, email,
                         language)
    SELECT $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 WHERE {written_if}
    ON CONFLICT (person_id) DO UPDATE
    SET phone = EXCLUDED.phone, email = EXCLUDED.email, language = EXCLUDED.language,
        retirement_category = EXCLUDED.retirement_category, updated_at = now()),
application AS (
    INSERT INTO applications (application_id, person_id, region, programmes, declared_base, medical_base, frequency,
                              retirement_category, phone, email, language, status, submitted_at)
    SELECT $20, $10, $16, $21, $22, $23, $24, $15, $17, $18, $19, $25, $26 WHERE {written_if}
    RETURNING application_id),
steps AS ({_insert_steps("EXISTS (SELECT FROM application)")})"""


_INSERT_APPLICATION = f"WITH {_application_ctes('true')}\nSELECT count(*) FROM application"

# The person as ``read_applicant`` read them ($27, their state), or nothing written: the person's lock
# first ($28, its key), as an application in a transaction takes it, then their state taken of what
# is committed now (``person_state_now``, called on the column of the subquery taking the lock, so
# after it).
INSERT_CHECKED_CTES = f"""checked AS (
    SELECT person_state_now(locked.person_id) = $27 AS unchanged
    FROM (SELECT $10::uuid AS person_id, {_LOCK_PERSON.format(key="$28")} AS locked) AS locked),
{_application_ctes("(SELECT unchanged FROM checked)")}"""
INSERT_CHECKED_RESULT = "SELECT EXISTS (SELECT FROM application) AS written"


def checked_arguments(arguments: list, person_id: UUID, state: str) -> list:
    """``application_arguments`` and what ``INSERT_CHECKED_CTES`` compares and locks."""
    return [*arguments, state, _person_lock_key(person_id)]


_APPLICATION_COLUMNS = (
    "application_id, person_id, region, programmes, declared_base, medical_base, frequency, "
    "retirement_category, status, submitted_at, decided_at, rejected_materials, rejection_reasons"
)


async def get_application(
    conn: asyncpg.Connection, application_id: UUID, *, for_update: bool = False
) -> Application | None:
    """The application, locked for the rest of the transaction when ``for_update``."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_APPLICATION_COLUMNS} FROM applications WHERE application_id = $1{lock}", application_id
    )
    return _application(row) if row else None


async def person_applications(
    conn: asyncpg.Connection, person_id: UUID, region: str | None = None
) -> list[Application]:
    """The person's applications (of one region when given), newest first."""
    rows = await conn.fetch(
        f"SELECT {_APPLICATION_COLUMNS} FROM applications WHERE person_id = $1 AND ($2::text IS NULL OR region = $2) "
        "ORDER BY submitted_at DESC",
        person_id, region,
    )
    return [_application(row) for row in rows]


def _application(row: asyncpg.Record) -> Application:
    values = dict(row)
    values["programmes"] = tuple(values["programmes"])
    values["rejected_materials"] = tuple(values["rejected_materials"])
    values["rejection_reasons"] = tuple(values["rejection_reasons"])
    return Application(**values)


async def set_application_status(
    conn: asyncpg.Connection, application_id: UUID, status: str, *, decided: bool = False,
    rejection_reasons: Sequence[str] = (),
) -> None:
    await conn.execute(
        """UPDATE applications SET status = $2, decided_at = CASE WHEN $3 THEN now() ELSE decided_at END,
                  rejection_reasons = $4
           WHERE application_id = $1""",
        application_id, status, decided, list(rejection_reasons),
    )


async def set_rejected_materials(
    conn: asyncpg.Connection, application_id: UUID, rejected: list[dict[str, Any]]
) -> None:
    await conn.execute(
        "UPDATE applications SET rejected_materials = $2 WHERE application_id = $1", application_id, rejected
    )


# --- enrolments --------------------------------------------------------------------------


async def insert_enrollment(conn: asyncpg.Connection, enrollment: Enrollment) -> None:
    await conn.execute(
        """INSERT INTO enrollments (enrollment_id, person_id, application_id, region, programme, base, frequency,
                                    start_month, terms_from, status, waiting_until, activated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        enrollment.enrollment_id, enrollment.person_id, enrollment.application_id, enrollment.region,
        enrollment.programme, enrollment.base, enrollment.frequency, str(enrollment.start_month),
        str(enrollment.terms_from), enrollment.status, enrollment.waiting_until, enrollment.activated_at,
    )


_ENROLLMENT_COLUMNS = (
    "enrollment_id, person_id, application_id, region, programme, base, frequency, start_month, terms_from, "
    "status, activated_at, waiting_until, suspended_since, last_month"
)


def _enrollment(row: asyncpg.Record) -> Enrollment:
    values = dict(row)
    for month in ("start_month", "terms_from", "last_month"):
        values[month] = Month.parse(values[month]) if values[month] else None
    return Enrollment(**values)


async def get_enrollment(
    conn: asyncpg.Connection, enrollment_id: UUID, *, for_update: bool = False
) -> Enrollment | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments WHERE enrollment_id = $1{lock}", enrollment_id
    )
    return _enrollment(row) if row else None


async def person_enrollments(conn: asyncpg.Connection, person_id: UUID, region: str | None = None) -> list[Enrollment]:
    """The person's enrolments (of one region when given), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments WHERE person_id = $1 AND ($2::text IS NULL OR region = $2) "
        "ORDER BY activated_at, programme",
        person_id, region,
    )
    return [_enrollment(row) for row in rows]


async def application_enrollments(conn: asyncpg.Connection, application_id: UUID) -> list[Enrollment]:
    """The enrolments an application started."""
    rows = await conn.fetch(
        f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments WHERE application_id = $1 ORDER BY programme", application_id
    )
    return [_enrollment(row) for row in rows]


async def enrollments_in(
    conn: asyncpg.Connection, person_id: UUID, programmes: Iterable[str], status: str
) -> list[Enrollment]:
    """The person's enrolments of ``programmes`` in ``status``, locked for update."""
    rows = await conn.fetch(
        f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments "
        "WHERE person_id = $1 AND programme = ANY($2::text[]) AND status = $3 ORDER BY programme FOR UPDATE",
        person_id, list(programmes), status,
    )
    return [_enrollment(row) for row in rows]


async def last_medical_cover(conn: asyncpg.Connection, person_id: UUID) -> Month | None:
    """The last month an ended medical enrolment of the person covered (None: never covered here)."""
    last = await conn.fetchval(
        "SELECT max(last_month) FROM enrollments "
        "WHERE person_id = $1 AND programme = ANY($2::text[]) AND status = 'terminated'",
        person_id, sorted(MEDICAL_PROGRAMMES),
    )
    return Month.parse(last) if last else None


async def set_enrollment_terms(
    conn: asyncpg.Connection, enrollment_id: UUID, base: Decimal, frequency: str, terms_from: Month
) -> None:
    await conn.execute(
        "UPDATE enrollments SET base = $2, frequency = $3, terms_from = $4 WHERE enrollment_id = $1",
        enrollment_id, base, frequency, str(terms_from),
    )


async def suspend_enrollment(conn: asyncpg.Connection, enrollment_id: UUID, since: date) -> None:
    await conn.execute(
        "UPDATE enrollments SET status = 'suspended', suspended_since = $2 WHERE enrollment_id = $1",
        enrollment_id, since,
    )


async def reinstate_enrollment(conn: asyncpg.Connection, enrollment_id: UUID, waiting_until: date | None) -> None:
    await conn.execute(
        "UPDATE enrollments SET status = 'active', suspended_since = NULL, "
        "waiting_until = COALESCE($2, waiting_until) WHERE enrollment_id = $1",
        enrollment_id, waiting_until,
    )


async def terminate_enrollment(conn: asyncpg.Connection, enrollment_id: UUID, last_month: Month) -> None:
    await conn.execute(
        "UPDATE enrollments SET status = 'terminated', last_month = $2 WHERE enrollment_id = $1",
        enrollment_id, str(last_month),
    )


# --- history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step in the history of an application or enrolment, with the event it emitted."""

    aggregate: str
    aggregate_id: UUID
    from_status: str | None
    to_status: str
    cause: Cause
    event_type: str | None = None
    event_id: UUID | None = None
    detail: dict[str, Any] | None = None


def _step_columns(steps: Sequence[Step]) -> list[list[Any]]:
    return [[step.aggregate for step in steps], [step.aggregate_id for step in steps],
            [step.from_status for step in steps], [step.to_status for step in steps],
            [step.event_type for step in steps], [step.event_id for step in steps],
            [step.cause.event_id for step in steps], [step.cause.request for step in steps],
            [step.detail or {} for step in steps]]


async def record_transitions(conn: asyncpg.Connection, steps: Sequence[Step]) -> None:
    await conn.execute(_INSERT_STEPS, *_step_columns(steps))


async def history(conn: asyncpg.Connection, aggregate_ids: Sequence[UUID]) -> dict[UUID, list[Transition]]:
    """The recorded transitions of each aggregate, in the order they happened."""
    rows = await conn.fetch(
        "SELECT aggregate_id, at, from_status, to_status, event_type, event_id, cause_event_id, cause_request, detail "
        "FROM transitions WHERE aggregate_id = ANY($1::uuid[]) ORDER BY seq",
        list(aggregate_ids),
    )
    steps: dict[UUID, list[Transition]] = {aggregate_id: [] for aggregate_id in aggregate_ids}
    for row in rows:
        steps[row["aggregate_id"]].append(Transition(
            at=row["at"], from_status=row["from_status"], to_status=row["to_status"],
            event_type=row["event_type"], event_id=row["event_id"],
            cause=Cause(event_id=row["cause_event_id"], request=row["cause_request"]),
            detail=row["detail"] if isinstance(row["detail"], dict) else json.loads(row["detail"]),
        ))
    return steps
