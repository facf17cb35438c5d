"""SQL of payments, their allocations and vouchers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.billing.domain.payments import UNPAID, BillBalance
from services.billing.repository.overdue import SETTLED_UNANNOUNCED


@dataclass(frozen=True)
class Account:
    person_id: uuid.UUID
    region: str
    credit_balance: Decimal
    covered_from: date | None = None  # the first month of the person's earliest enrolment


def _account_sql(lock: str) -> str:
    return f"""
SELECT a.person_id, a.region, a.credit_balance,
       (SELECT min(start_month) FROM enrolments e WHERE e.person_id = a.person_id) AS covered_from
FROM person_accounts a WHERE a.person_id = $1 {lock}"""


_LOCKED_ACCOUNT = _account_sql("FOR NO KEY UPDATE OF a")


async def lock_account(conn: asyncpg.Connection, person_id: uuid.UUID) -> Account | None:
    """The person's account, locked: one payment (or credit spend) per person at a time."""
    row = await conn.fetchrow(_LOCKED_ACCOUNT, person_id)
    return Account(**dict(row)) if row else None


@dataclass(frozen=True)
class PayerBill:
    """One of the payer's bills as locked before a payment: unpaid (open or overdue), or settled
    while overdue and not announced yet; with what tells whether paying it settles arrears."""

    balance: BillBalance
    lines: tuple[tuple[str, str], ...]  # (programme, "YYYY-MM") of each line, in order
    region: str
    status: str
    overdue_level: int
    programmes: tuple[str, ...]
    arrears_reported: bool

    @property
    def unpaid(self) -> bool:
        return self.status in UNPAID


@dataclass(frozen=True)
class Payer:
    """What a payment needs, read in one statement: the person's account (None if billing does not
    know them), the payment already recorded for the channel's transaction (for whoever it was),
    and the person's bills (``PayerBill``), oldest first; all of them locked."""

    account: Account | None
    stored: StoredPayment | None
    bills: list[PayerBill]
    state: str | None = None  # the payer's state as read without locks (``read_payer``, ``payer_state``)


# The account is locked first (the bills' condition reads it), as every writer of a person's bills
# does; the bills are then the person's own, read again at their latest version once locked. Read
# without locks (``read_payer``), the same rows come with the payer's state (migration 010,
# payer_state) taken from the same snapshot: a payment written by one statement compares it with
# the state when it writes.
def _payer_sql(*, locked: bool) -> str:
    return f"""
WITH account AS ({_account_sql("FOR NO KEY UPDATE OF a" if locked else "")}),
payer_bills AS (
    SELECT b.bill_id, b.due_date, b.first_month, b.principal, b.principal_paid, b.grace_days, b.late_fee_daily_rate,
           b.late_fee_accrued AS frozen_accrual, b.accrued_through, b.late_fee_paid,
           b.region AS bill_region, b.status, b.overdue_level, b.programmes,
           b.arrears_reported_at IS NOT NULL AS arrears_reported,
           ARRAY(SELECT ARRAY[l.programme, to_char(l.month, 'YYYY-MM')] FROM bill_lines l
                 WHERE l.bill_id = b.bill_id AND NOT l.voided ORDER BY l.month, l.programme) AS lines
    FROM bills b
    WHERE b.person_id = $1 AND (SELECT true FROM account)
      AND (b.status IN ('open', 'overdue') OR ({SETTLED_UNANNOUNCED}))
    {"FOR NO KEY UPDATE OF b" if locked else ""})
SELECT account.*, {"" if locked else "payer_state($1) AS state, "}p.person_id AS paid_by, p.amount AS paid_amount,
       p.result AS paid_result, payer_bills.*
FROM account LEFT JOIN payments p ON p.channel = $2 AND p.channel_txn_id = $3
     LEFT JOIN payer_bills ON true
ORDER BY payer_bills.due_date, payer_bills.first_month, payer_bills.bill_id"""


_LOCKED_PAYER = _payer_sql(locked=True)
_PAYER_AS_READ = _payer_sql(locked=False)


async def lock_payer(conn: asyncpg.Connection, person_id: uuid.UUID, channel: str, channel_txn_id: str) -> Payer:
    """The payer's account and bills, locked, and the payment already recorded for the channel's
    transaction (``Payer``): one round trip."""
    return _payer(await conn.fetch(_LOCKED_PAYER, person_id, channel, channel_txn_id))


async def read_payer(conn: asyncpg.Connection, person_id: uuid.UUID, channel: str, channel_txn_id: str) -> Payer:
    """``lock_payer``'s payer without its locks, and ``Payer.state`` set: one round trip."""
    return _payer(await conn.fetch(_PAYER_AS_READ, person_id, channel, channel_txn_id))


def _payer(rows: list[asyncpg.Record]) -> Payer:
    if not rows:
        return Payer(None, None, [])
    first = rows[0]
    account = Account(first["person_id"], first["region"], first["credit_balance"], first["covered_from"])
    stored = (StoredPayment(first["paid_by"], first["paid_amount"], first["paid_result"])
              if first["paid_by"] is not None else None)
    return Payer(account, stored, [_payer_bill(row) for row in rows if row["bill_id"] is not None],
                 first.get("state"))


def _payer_bill(row: asyncpg.Record) -> PayerBill:
    return PayerBill(
        balance=BillBalance.from_mapping(row),
        lines=tuple((programme, month) for programme, month in row["lines"]),
        region=row["bill_region"], status=row["status"], overdue_level=row["overdue_level"],
        programmes=tuple(row["programmes"]), arrears_reported=row["arrears_reported"],
    )


async def account(conn: asyncpg.Connection, person_id: uuid.UUID) -> Account | None:
    row = await conn.fetchrow(
        "SELECT person_id, region, credit_balance FROM person_accounts WHERE person_id = $1", person_id,
    )
    return Account(**dict(row)) if row else None


@dataclass(frozen=True)
class StoredPayment:
    person_id: uuid.UUID
    amount: Decimal
    result: dict[str, Any]


async def payment_by_txn(conn: asyncpg.Connection, channel: str, channel_txn_id: str) -> StoredPayment | None:
    row = await conn.fetchrow(
        "SELECT person_id, amount, result FROM payments WHERE channel = $1 AND channel_txn_id = $2",
        channel, channel_txn_id,
    )
    return StoredPayment(**dict(row)) if row else None


async def next_voucher_number(conn: asyncpg.Connection, region: str, year: int) -> int:
    """The next number of the region's voucher series for ``year`` (gapless: it rolls back with the payment)."""
    return await conn.fetchval(
        """INSERT INTO voucher_counters (region, year, last_no) VALUES ($1, $2, 1)
           ON CONFLICT (region, year) DO UPDATE SET last_no = voucher_counters.last_no + 1
           RETURNING last_no""",
        region, year,
    )


async def reserve_voucher_block(conn: asyncpg.Connection, region: str, year: int, size: int, holder: str) -> range:
    """The next ``size`` numbers of the region's voucher series for ``year``, recorded as ``holder``'s
    block; they roll back with the transaction, and the counter's row stays locked until it ends."""
    row = await conn.fetchrow(
        """WITH counter AS (
               INSERT INTO voucher_counters (region, year, last_no) VALUES ($1, $2, $3)
               ON CONFLICT (region, year) DO UPDATE SET last_no = voucher_counters.last_no + $3
               RETURNING last_no)
           INSERT INTO voucher_blocks (region, year, first_no, last_no, holder)
           SELECT $1, $2, last_no - $3 + 1, last_no, $4 FROM counter
           RETURNING first_no, last_no""",
        region, year, size, holder,
    )
    return range(row["first_no"], row["last_no"] + 1)


# The payment, what it went to, the bills' new balances, the credit it added and its voucher, in one
# statement (one round trip while the voucher counter may be locked). A channel transaction recorded
# meanwhile leaves ``payment`` empty, and with it everything else; so does ``written_if`` false. A bill
# paid in full is settled at the payment's time.
def _payment_ctes(written_if: str) -> str:
    return f"""payment AS (
    INSERT INTO payments (payment_id, person_id, amount, channel, channel_txn_id, paid_at, credit_added, voucher_no,
                          result)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::json WHERE {written_if}
    ON CONFLICT (channel, channel_txn_id) DO NOTHING RETURNING payment_id),
allocations AS (
    INSERT INTO payment_allocations (payment_id, bill_id, principal, late_fee)
    SELECT payment.payment_id, a.bill_id, a.principal, a.late_fee
    FROM payment, unnest($10::uuid[], $11::numeric[], $12::numeric[]) AS a(bill_id, principal, late_fee)),
voucher AS (
    INSERT INTO vouchers (voucher_no, payment_id, person_id, region, document, signature, algorithm, key_id,
                          issued_at)
    SELECT $8, payment.payment_id, $2, $13::text, $14::jsonb, $15::text, $16::text, $17::text, $18::timestamptz
    FROM payment),
balances AS (
    UPDATE bills b SET principal_paid = u.principal_paid, late_fee_paid = u.late_fee_paid,
           late_fee_accrued = u.frozen_accrual, accrued_through = u.accrued_through,
           status = CASE WHEN u.principal_paid = b.principal THEN 'paid' ELSE b.status END,
           settled_at = CASE WHEN u.principal_paid = b.principal THEN $6 ELSE b.settled_at END
    FROM payment, unnest($19::uuid[], $20::numeric[], $21::numeric[], $22::numeric[], $23::date[])
         AS u(bill_id, principal_paid, late_fee_paid, frozen_accrual, accrued_through)
    WHERE b.bill_id = u.bill_id),
credit AS (
    UPDATE person_accounts a SET credit_balance = a.credit_balance + $7
    FROM payment WHERE a.person_id = $2 AND $7 > 0)"""


_RECORD_PAYMENT = f"WITH {_payment_ctes('true')}\nSELECT count(*) > 0 FROM payment"

# The payer as ``read_payer`` read it ($24, its state), or nothing written: the account is locked
# first, as every writer of a person's bills does, then the state taken of what is committed now
# (``payer_state_now``, after the lock: the function is called on the locked row).
RECORD_CHECKED_CTES = f"""checked AS (
    SELECT payer_state_now(locked.person_id) = $24 AS unchanged
    FROM (SELECT person_id FROM person_accounts WHERE person_id = $2 FOR NO KEY UPDATE) AS locked),
{_payment_ctes("(SELECT unchanged FROM checked)")}"""
RECORD_CHECKED_RESULT = ("SELECT coalesce((SELECT unchanged FROM checked), false) AS unchanged, "
                         "EXISTS (SELECT FROM payment) AS recorded")


@dataclass(frozen=True)
class NewPayment:
    payment_id: uuid.UUID
    person_id: uuid.UUID
    amount: Decimal
    channel: str
    channel_txn_id: str
    paid_at: datetime
    credit_added: Decimal
    result: dict[str, Any]


async def record_payment(conn: asyncpg.Connection, arguments: list) -> bool:
    """Record the payment of ``arguments`` (``record_arguments``); False, and nothing written, when
    the channel's transaction id was recorded meanwhile."""
    return await conn.fetchval(_RECORD_PAYMENT, *arguments)


def record_arguments(payment: NewPayment, allocations: list[tuple[uuid.UUID, Decimal, Decimal]],
                     after: list[BillBalance], voucher: StoredVoucher, issued_at: datetime) -> list:
    """``$1`` … ``$23`` of the payment's statement: the payment, its allocations ((bill, principal,
    late fee) each), the bills' balances ``after`` it, the credit it adds and its voucher."""
    return [
        payment.payment_id, payment.person_id, payment.amount, payment.channel, payment.channel_txn_id,
        payment.paid_at, payment.credit_added, voucher.voucher_no, payment.result,
        [bill_id for bill_id, _, _ in allocations], [principal for _, principal, _ in allocations],
        [late_fee for _, _, late_fee in allocations],
        voucher.region, voucher.document, voucher.signature, voucher.algorithm, voucher.key_id, issued_at,
        [bill.bill_id for bill in after], [bill.principal_paid for bill in after],
        [bill.late_fee_paid for bill in after], [bill.frozen_accrual for bill in after],
        [bill.accrued_through for bill in after],
    ]


@dataclass(frozen=True)
class StoredVoucher:
    voucher_no: str
    person_id: uuid.UUID
    region: str
    document: dict[str, Any]
    signature: str
    algorithm: str
    key_id: str


_VOUCHER_COLUMNS = "voucher_no, person_id, region, document, signature, algorithm, key_id"


async def voucher(conn: asyncpg.Connection, voucher_no: str) -> StoredVoucher | None:
    row = await conn.fetchrow(f"SELECT {_VOUCHER_COLUMNS} FROM vouchers WHERE voucher_no = $1", voucher_no)
    return StoredVoucher(**dict(row)) if row else None


async def vouchers_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[StoredVoucher]:
    rows = await conn.fetch(
        f"SELECT {_VOUCHER_COLUMNS} FROM vouchers WHERE person_id = $1 ORDER BY issued_at DESC, voucher_no DESC",
        person_id,
    )
    return [StoredVoucher(**dict(row)) for row in rows]
