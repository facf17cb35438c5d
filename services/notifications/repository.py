"""All SQL of the notifications service and the mapping of its rows to domain objects.

Every function takes the connection of an open unit of work (asyncpg; the connection's search
path is the service's schema): operations pass ``uow.conn``, and decide nothing here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from services.notifications.domain.model import DIGESTED_TEMPLATES, Contact, Message, Preferences, Recipient
from services.notifications.domain.notices import (
    DeliveryState,
    DigestMember,
    DueDelivery,
    InboxEntry,
    NewDelivery,
    NewNotification,
    joins_a_digest,
)
from services.notifications.domain.reminders import OpenBill
from services.notifications.domain.timing import Outcome

# --- contact directory and enrolments ----------------------------------------------------


async def save_contacts(conn: asyncpg.Connection, contacts: Sequence[Contact]) -> None:
    """Each application's contact details; the latest of a person's wins (a person appears at most once
    in ``contacts``: one statement cannot update a row twice)."""
    await conn.execute(
        """INSERT INTO contacts (person_id, region, phone, email, language)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
           ON CONFLICT (person_id) DO UPDATE SET region = excluded.region, phone = excluded.phone,
               email = excluded.email, language = excluded.language, updated_at = now()""",
        *_columns([(c.person_id, c.region, c.phone, c.email, c.language) for c in contacts], width=5),
    )


async def save_enrolment(
    conn: asyncpg.Connection, *, enrollment_id: uuid.UUID, person_id: uuid.UUID, region: str, programme: str,
    base: Decimal, frequency: str,
) -> None:
    await conn.execute(
        """INSERT INTO enrolments (enrollment_id, person_id, region, programme, base, frequency, status)
           VALUES ($1, $2, $3, $4, $5, $6, 'active')
           ON CONFLICT (enrollment_id) DO UPDATE SET base = excluded.base, frequency = excluded.frequency,
               status = 'active', updated_at = now()""",
        enrollment_id, person_id, region, programme, base, frequency,
    )


async def change_enrolment(conn: asyncpg.Connection, enrollment_id: uuid.UUID, base: Decimal, frequency: str) -> None:
    await conn.execute(
        "UPDATE enrolments SET base = $2, frequency = $3, updated_at = now() WHERE enrollment_id = $1",
        enrollment_id, base, frequency,
    )


async def set_enrolment_status(conn: asyncpg.Connection, enrollment_id: uuid.UUID, status: str) -> None:
    await conn.execute(
        "UPDATE enrolments SET status = $2, updated_at = now() WHERE enrollment_id = $1", enrollment_id, status
    )


async def recipient(conn: asyncpg.Connection, person_id: uuid.UUID) -> Recipient:
    """What we know of a person: contact details and preferences (either may be missing)."""
    return (await recipients(conn, [person_id]))[person_id]


async def recipients(conn: asyncpg.Connection, person_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    """``recipient`` of each of ``person_ids``, in one query."""
    rows = await conn.fetch(
        f"""SELECT person.person_id, {_RECIPIENT_COLUMNS} FROM unnest($1::uuid[]) AS person (person_id)
            LEFT JOIN contacts c USING (person_id) LEFT JOIN preferences p USING (person_id)""",
        list(set(person_ids)),
    )
    return {row["person_id"]: _recipient(row["person_id"], row) for row in rows}


async def person_region(conn: asyncpg.Connection, person_id: uuid.UUID) -> str | None:
    """The person's region: their application's, else their latest enrolment's or notice's."""
    return await conn.fetchval(
        """SELECT coalesce(
               (SELECT region FROM contacts WHERE person_id = $1),
               (SELECT region FROM enrolments WHERE person_id = $1 ORDER BY updated_at DESC LIMIT 1),
               (SELECT region FROM notifications WHERE person_id = $1 ORDER BY created_at DESC LIMIT 1))""",
        person_id,
    )


# --- preferences ------------------------------------------------------------------------


async def save_preferences(conn: asyncpg.Connection, preferences: Preferences) -> None:
    await conn.execute(
        """INSERT INTO preferences (person_id, channels, language, reminders) VALUES ($1, $2, $3, $4)
           ON CONFLICT (person_id) DO UPDATE SET channels = excluded.channels, language = excluded.language,
               reminders = excluded.reminders, updated_at = now()""",
        preferences.person_id, sorted(preferences.channels), preferences.language, preferences.reminders,
    )


# --- bills ------------------------------------------------------------------------------


async def save_bill(conn: asyncpg.Connection, bill: OpenBill) -> None:
    await conn.execute(
        """INSERT INTO bills (bill_id, person_id, region, months, total, due_date, due_event_id, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bill_id) DO NOTHING""",
        bill.bill_id, bill.person_id, bill.region, list(bill.months), bill.total, bill.due_date,
        bill.due_event_id, bill.correlation_id,
    )


async def save_payments(
    conn: asyncpg.Connection, payments: Sequence[tuple[uuid.UUID, Sequence[tuple[uuid.UUID, Decimal]]]]
) -> None:
    """What each payment (payment id, [(bill id, principal)]) paid on each bill; a payment recorded
    before, or given twice, adds nothing again."""
    first_of_each: dict[uuid.UUID, Sequence[tuple[uuid.UUID, Decimal]]] = {}
    for payment_id, on_bills in payments:
        first_of_each.setdefault(payment_id, on_bills)  # given twice, a payment would be summed twice below
    rows = [(payment_id, bill_id, principal) for payment_id, on_bills in first_of_each.items()
            for bill_id, principal in on_bills]
    await conn.execute(
        """INSERT INTO bill_payments (payment_id, bill_id, principal)
           SELECT payment_id, bill_id, sum(principal)
           FROM unnest($1::uuid[], $2::uuid[], $3::numeric[]) AS a(payment_id, bill_id, principal)
           GROUP BY payment_id, bill_id
           ON CONFLICT (payment_id, bill_id) DO NOTHING""",
        *_columns(rows, width=3),
    )


async def unpaid_bills_due_on(
    conn: asyncpg.Connection, due_dates: Sequence[date], region: str | None = None,
) -> list[tuple[OpenBill, Recipient]]:
    """Bills falling due on one of ``due_dates`` that are not paid in full (in ``region``, or
    all), with their person."""
    rows = await conn.fetch(
        f"""SELECT b.*, coalesce(paid.principal, 0) AS paid_principal, {_RECIPIENT_COLUMNS}
            FROM bills b
            LEFT JOIN LATERAL (SELECT sum(principal) AS principal FROM bill_payments bp
                               WHERE bp.bill_id = b.bill_id) AS paid ON true
            LEFT JOIN contacts c USING (person_id) LEFT JOIN preferences p USING (person_id)
            WHERE b.due_date = ANY($1::date[]) AND coalesce(paid.principal, 0) < b.total
              AND ($2::text IS NULL OR b.region = $2)
            ORDER BY b.due_date, b.bill_id""",
        list(due_dates), region,
    )
    return [(_open_bill(row), _recipient(row["person_id"], row)) for row in rows]


# --- notifications and deliveries ---------------------------------------------------------


async def record_notifications(
    conn: asyncpg.Connection, notifications: Sequence[NewNotification]
) -> list[NewNotification]:
    """Store notices with their deliveries; returns those new (a notice already recorded for
    the same causing event and template is left alone, with its deliveries)."""
    if not notifications:
        return []
    recorded = await conn.fetch(
        """INSERT INTO notifications (notification_id, person_id, region, template, caused_by, correlation_id,
                                      language, title, body, created_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                                $7::text[], $8::text[], $9::text[], $10::timestamptz[])
           ON CONFLICT (caused_by, template) DO NOTHING RETURNING notification_id""",
        *_columns([
            (n.notification_id, n.person_id, n.region, n.template, n.caused_by, n.correlation_id, n.language,
             n.message.title, n.message.body, n.created_at)
            for n in notifications
        ], width=10),
    )
    new_ids = {row["notification_id"] for row in recorded}
    new = [n for n in notifications if n.notification_id in new_ids]
    if not new:
        return []
    digested = [(n, d) for n in new for d in n.deliveries if joins_a_digest(n, d)]
    await conn.execute(
        """INSERT INTO deliveries (notification_id, channel, status, next_attempt_at, delivered_at)
           SELECT id, channel, status, next_attempt_at, CASE WHEN status = 'delivered' THEN created_at END
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                AS d(id, channel, status, next_attempt_at, created_at)""",
        *_columns([
            (n.notification_id, d.channel, d.status, d.next_attempt_at, n.created_at)
            for n in new for d in n.deliveries if not joins_a_digest(n, d)
        ], width=5),
    )
    for notice, delivery in digested:  # in order: the first of a burst leads, the later ones join it
        await _join_or_lead_digest(conn, notice, delivery)
    return new


async def _join_or_lead_digest(conn: asyncpg.Connection, notice: NewNotification, delivery: NewDelivery) -> None:
    """Join the person's digest of this kind on this channel that has not gone out yet, or lead a new one.
    The lead is locked (a worker claiming it at this moment is waited for, and then it is no longer
    pending: this notice leads the next digest)."""
    lead = await conn.fetchval(
        """SELECT d.notification_id FROM deliveries d JOIN notifications n USING (notification_id)
           WHERE n.person_id = $1 AND n.template = $2 AND d.channel = $3 AND d.status = 'pending'
             AND d.digest_of IS NULL AND d.notification_id <> $4
           ORDER BY n.created_at LIMIT 1 FOR UPDATE OF d""",
        notice.person_id, notice.template, delivery.channel, notice.notification_id,
    )
    status, next_attempt_at = ("digested", None) if lead is not None else (delivery.status, delivery.next_attempt_at)
    await conn.execute(
        """INSERT INTO deliveries (notification_id, channel, status, next_attempt_at, digest_of)
           VALUES ($1, $2, $3, $4, $5)""",
        notice.notification_id, delivery.channel, status, next_attempt_at, lead,
    )


async def hold_sms_until(conn: asyncpg.Connection, now: datetime, release: datetime) -> int:
    """Move SMS deliveries due during quiet hours to ``release``; returns how many."""
    result = await conn.execute(
        """UPDATE deliveries SET next_attempt_at = $2, updated_at = now()
           WHERE channel = 'sms' AND status = 'pending' AND next_attempt_at <= $1""",
        now, release,
    )
    return int(result.split()[-1])


async def claim_due_deliveries(
    conn: asyncpg.Connection, *, now: datetime, limit: int, lease_until: datetime, include_sms: bool,
    digests_closed_before: datetime | None = None,
) -> list[DueDelivery]:
    """Take up to ``limit`` due deliveries for this worker: marked ``sending`` (until
    ``lease_until``, after which another worker may take them again) with one more attempt. The lead
    of a digest is due only once its notice is older than ``digests_closed_before`` (default ``now``),
    and comes with its members."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT d.notification_id, d.channel FROM deliveries d JOIN notifications n USING (notification_id)
               WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= $1 AND ($4 OR d.channel <> 'sms')
                 AND (n.template <> ALL($5::text[]) OR n.created_at <= $6)
               ORDER BY d.next_attempt_at LIMIT $2
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, next_attempt_at = $3,
                                   updated_at = now()
           FROM due JOIN notifications n USING (notification_id) LEFT JOIN contacts c USING (person_id)
           WHERE d.notification_id = due.notification_id AND d.channel = due.channel
           RETURNING d.notification_id, d.channel, d.attempts, n.person_id, n.region, n.template, n.caused_by,
                     n.correlation_id, n.language, n.title, n.body, c.phone, c.email""",
        now, limit, lease_until, include_sms, sorted(DIGESTED_TEMPLATES), digests_closed_before or now,
    )
    members = await _digest_members(conn, [(row["notification_id"], row["channel"]) for row in rows
                                           if row["template"] in DIGESTED_TEMPLATES])
    return [
        DueDelivery(
            notification_id=row["notification_id"], channel=row["channel"], attempts=row["attempts"],
            person_id=row["person_id"], region=row["region"], template=row["template"],
            caused_by=row["caused_by"], correlation_id=row["correlation_id"], language=row["language"],
            message=Message(row["title"], row["body"]), phone=row["phone"], email=row["email"],
            members=members.get((row["notification_id"], row["channel"]), ()),
        )
        for row in rows
    ]


async def _digest_members(conn: asyncpg.Connection, leads: Sequence[tuple[uuid.UUID, str]]
                          ) -> dict[tuple[uuid.UUID, str], tuple[DigestMember, ...]]:
    if not leads:
        return {}
    rows = await conn.fetch(
        """SELECT d.digest_of, d.channel, n.notification_id, n.caused_by, n.correlation_id, n.title, n.body
           FROM unnest($1::uuid[], $2::text[]) AS lead(notification_id, channel)
           JOIN deliveries d ON d.digest_of = lead.notification_id AND d.channel = lead.channel
           JOIN notifications n ON n.notification_id = d.notification_id
           WHERE d.status = 'digested' ORDER BY n.created_at, n.notification_id""",
        [lead for lead, _ in leads], [channel for _, channel in leads],
    )
    members: dict[tuple[uuid.UUID, str], list[DigestMember]] = {}
    for row in rows:
        members.setdefault((row["digest_of"], row["channel"]), []).append(DigestMember(
            notification_id=row["notification_id"], caused_by=row["caused_by"],
            correlation_id=row["correlation_id"], message=Message(row["title"], row["body"])))
    return {key: tuple(found) for key, found in members.items()}


async def record_outcomes(
    conn: asyncpg.Connection, outcomes: Sequence[tuple[DueDelivery, Outcome]], now: datetime
) -> list[tuple[DueDelivery, Outcome]]:
    """Store what each claimed attempt came to; returns those stored (a delivery another worker
    re-claimed after this one's lease ran out is left to that worker)."""
    if not outcomes:
        return []
    rows = await conn.fetch(
        """UPDATE deliveries d SET status = o.status, last_error = o.error, next_attempt_at = o.next_attempt_at,
                                   delivered_at = CASE WHEN o.status = 'delivered' THEN $6::timestamptz END,
                                   updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $7::timestamptz[])
                AS o(notification_id, channel, attempts, status, error, next_attempt_at)
           WHERE d.notification_id = o.notification_id AND d.channel = o.channel
             AND d.status = 'sending' AND d.attempts = o.attempts
           RETURNING d.notification_id, d.channel""",
        [due.notification_id for due, _ in outcomes], [due.channel for due, _ in outcomes],
        [due.attempts for due, _ in outcomes], [outcome.status for _, outcome in outcomes],
        [outcome.error for _, outcome in outcomes], now, [outcome.next_attempt_at for _, outcome in outcomes],
    )
    stored = {(row["notification_id"], row["channel"]) for row in rows}
    kept = [(due, outcome) for due, outcome in outcomes if (due.notification_id, due.channel) in stored]
    await _settle_digest_members(conn, kept, now)
    return kept


async def _settle_digest_members(conn: asyncpg.Connection, outcomes: Sequence[tuple[DueDelivery, Outcome]],
                                 now: datetime) -> None:
    """The members that went out with a lead share its final outcome (a retry keeps them waiting)."""
    final = [(member, due, outcome) for due, outcome in outcomes if outcome.status != "pending"
             for member in due.members]
    if not final:
        return
    await conn.execute(
        """UPDATE deliveries d SET status = o.status, last_error = o.error, attempts = o.attempts,
                                   delivered_at = CASE WHEN o.status = 'delivered' THEN $5::timestamptz END,
                                   updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $6::int[])
                AS o(notification_id, channel, status, error, attempts)
           WHERE d.notification_id = o.notification_id AND d.channel = o.channel AND d.status = 'digested'""",
        [member.notification_id for member, _, _ in final], [due.channel for _, due, _ in final],
        [outcome.status for _, _, outcome in final], [outcome.error for _, _, outcome in final], now,
        [due.attempts for _, due, _ in final],
    )


async def inbox(conn: asyncpg.Connection, person_id: uuid.UUID, limit: int) -> list[InboxEntry]:
    """The person's notices, newest first, each with the state of its deliveries."""
    rows = await conn.fetch(
        """SELECT n.notification_id, n.template, n.caused_by, n.language, n.title, n.body, n.created_at,
                  (SELECT json_agg(json_build_object(
                              'channel', d.channel, 'status', d.status, 'attempts', d.attempts,
                              'error', d.last_error, 'next_attempt_at', d.next_attempt_at,
                              'delivered_at', d.delivered_at)
                          ORDER BY array_position(ARRAY['inbox', 'sms', 'email'], d.channel))
                   FROM deliveries d WHERE d.notification_id = n.notification_id) AS deliveries
           FROM notifications n WHERE n.person_id = $1
           ORDER BY n.created_at DESC, n.notification_id LIMIT $2""",
        person_id, limit,
    )
    return [_inbox_entry(row) for row in rows]


# --- row mapping -------------------------------------------------------------------------

_RECIPIENT_COLUMNS = """c.region AS contact_region, c.phone, c.email, c.language AS contact_language,
    p.channels AS preferred_channels, p.language AS preferred_language, p.reminders"""


def _recipient(person_id: uuid.UUID, row: asyncpg.Record) -> Recipient:
    contact = None
    if row["phone"] is not None:
        contact = Contact(person_id, row["contact_region"], row["phone"], row["email"], row["contact_language"])
    preferences = None
    if row["preferred_channels"] is not None:
        preferences = Preferences(
            person_id, frozenset(row["preferred_channels"]), row["preferred_language"], row["reminders"]
        )
    return Recipient(person_id, contact, preferences)


def _open_bill(row: asyncpg.Record) -> OpenBill:
    return OpenBill(
        bill_id=row["bill_id"], person_id=row["person_id"], region=row["region"], months=tuple(row["months"]),
        total=row["total"], paid_principal=row["paid_principal"], due_date=row["due_date"],
        due_event_id=row["due_event_id"], correlation_id=row["correlation_id"],
    )


def _inbox_entry(row: asyncpg.Record) -> InboxEntry:
    return InboxEntry(
        notification_id=row["notification_id"], template=row["template"], caused_by=row["caused_by"],
        language=row["language"], message=Message(row["title"], row["body"]), created_at=row["created_at"],
        deliveries=tuple(_delivery_state(delivery) for delivery in row["deliveries"] or ()),
    )


def _delivery_state(delivery: dict) -> DeliveryState:
    """One element of the JSON list of a notice's deliveries (moments as ISO 8601 text)."""
    return DeliveryState(
        channel=delivery["channel"], status=delivery["status"], attempts=delivery["attempts"],
        error=delivery["error"], next_attempt_at=_moment(delivery["next_attempt_at"]),
        delivered_at=_moment(delivery["delivered_at"]),
    )


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _columns(rows: Sequence[tuple], *, width: int) -> list[list]:
    """Rows → one list per column, for ``unnest``."""
    return [[row[i] for row in rows] for i in range(width)]
