"""SQL of payments, their allocations and vouchers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.billing.domain.payments import BillBalance


@dataclass(frozen=True)
class Account:
    person_id: uuid.UUID
    region: str
    credit_balance: Decimal
    covered_from: date | None = None  # the first month of the person's earliest enrolment


_LOCKED_ACCOUNT = """
SELECT a.person_id, a.region, a.credit_balance,
       (SELECT min(start_month) FROM enrolments e WHERE e.person_id = a.person_id) AS covered_from
FROM person_accounts a WHERE a.person_id = $1 FOR NO KEY UPDATE OF a"""


async def lock_account(conn: asyncpg.Connection, person_id: uuid.UUID) -> Account | None:
    """The person's account, locked: one payment (or credit spend) per person at a time."""
    row = await conn.fetchrow(_LOCKED_ACCOUNT, person_id)
    return Account(**dict(row)) if row else None


async def lock_payer(conn: asyncpg.Connection, person_id: uuid.UUID, channel: str, channel_txn_id: str
                     ) -> tuple[Account | None, StoredPayment | None]:
    """The person's account, locked (``lock_account``), and the payment already recorded for the
    channel's transaction, if any (for whoever it was)."""
    row = await conn.fetchrow(
        f"""SELECT account.*, p.person_id AS paid_by, p.amount AS paid_amount, p.result AS paid_result
            FROM ({_LOCKED_ACCOUNT}) AS account
            LEFT JOIN payments p ON p.channel = $2 AND p.channel_txn_id = $3""",
        person_id, channel, channel_txn_id,
    )
    if row is None:
        return None, None
    account = Account(row["person_id"], row["region"], row["credit_balance"], row["covered_from"])
    if row["paid_by"] is None:
        return account, None
    return account, StoredPayment(row["paid_by"], row["paid_amount"], row["paid_result"])


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


async def unpaid_bills(conn: asyncpg.Connection, person_id: uuid.UUID
                       ) -> tuple[list[BillBalance], dict[uuid.UUID, list[tuple[str, str]]]]:
    """The person's open and overdue bills, locked, oldest first; and (programme, "YYYY-MM") of
    each one's lines."""
    rows = await conn.fetch(
        """SELECT bill_id, due_date, first_month, principal, principal_paid, grace_days, late_fee_daily_rate,
                  late_fee_accrued AS frozen_accrual, accrued_through, late_fee_paid,
                  ARRAY(SELECT ARRAY[l.programme, to_char(l.month, 'YYYY-MM')] FROM bill_lines l
                        WHERE l.bill_id = b.bill_id AND NOT l.voided ORDER BY l.month, l.programme) AS lines
           FROM bills b WHERE person_id = $1 AND status IN ('open', 'overdue')
           ORDER BY due_date, first_month, bill_id FOR NO KEY UPDATE OF b""",
        person_id,
    )
    balances = [BillBalance(**{name: value for name, value in row.items() if name != "lines"}) for row in rows]
    return balances, {row["bill_id"]: [(programme, month) for programme, month in row["lines"]] for row in rows}


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


async def update_balances(conn: asyncpg.Connection, after: list[BillBalance], settled_at: datetime) -> None:
    """Store the bills' new balances after a payment; a bill paid in full is settled at ``settled_at``."""
    await conn.execute(
        """UPDATE bills b SET principal_paid = u.principal_paid, late_fee_paid = u.late_fee_paid,
                  late_fee_accrued = u.frozen_accrual, accrued_through = u.accrued_through,
                  status = CASE WHEN u.principal_paid = b.principal THEN 'paid' ELSE b.status END,
                  settled_at = CASE WHEN u.principal_paid = b.principal THEN $6 ELSE b.settled_at END
           FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::date[])
                AS u(bill_id, principal_paid, late_fee_paid, frozen_accrual, accrued_through)
           WHERE b.bill_id = u.bill_id""",
        [bill.bill_id for bill in after], [bill.principal_paid for bill in after],
        [bill.late_fee_paid for bill in after], [bill.frozen_accrual for bill in after],
        [bill.accrued_through for bill in after], settled_at,
    )


# The payment, what it went to and its voucher, in one statement (one round trip while the voucher
# counter is locked). A channel transaction recorded meanwhile leaves ``payment`` empty, and with
# it the other two.
_RECORD_PAYMENT = """
WITH payment AS (
    INSERT INTO payments (payment_id, person_id, amount, channel, channel_txn_id, paid_at, credit_added, voucher_no,
                          result)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json)
    ON CONFLICT (channel, channel_txn_id) DO NOTHING RETURNING payment_id),
allocations AS (
    INSERT INTO payment_allocations (payment_id, bill_id, principal, late_fee)
    SELECT payment.payment_id, a.bill_id, a.principal, a.late_fee
    FROM payment, unnest($10::uuid[], $11::numeric[], $12::numeric[]) AS a(bill_id, principal, late_fee)),
voucher AS (
    INSERT INTO vouchers (voucher_no, payment_id, person_id, region, document, signature, algorithm, key_id,
                          issued_at)
    SELECT $8, payment.payment_id, $2, $13::text, $14::jsonb, $15::text, $16::text, $17::text, $18::timestamptz
    FROM payment)
SELECT count(*) > 0 FROM payment"""


async def record_payment(conn: asyncpg.Connection, payment: NewPayment,
                         allocations: list[tuple[uuid.UUID, Decimal, Decimal]], voucher: StoredVoucher,
                         issued_at: datetime) -> bool:
    """Record the payment, its allocations ((bill, principal, late fee) each) and its voucher;
    False, and nothing written, when the channel's transaction id was recorded meanwhile."""
    return await conn.fetchval(
        _RECORD_PAYMENT,
        payment.payment_id, payment.person_id, payment.amount, payment.channel, payment.channel_txn_id,
        payment.paid_at, payment.credit_added, voucher.voucher_no, payment.result,
        [bill_id for bill_id, _, _ in allocations], [principal for _, principal, _ in allocations],
        [late_fee for _, _, late_fee in allocations],
        voucher.region, voucher.document, voucher.signature, voucher.algorithm, voucher.key_id, issued_at,
    )


async def add_credit(conn: asyncpg.Connection, person_id: uuid.UUID, amount: Decimal) -> Decimal:
    return await conn.fetchval(
        "UPDATE person_accounts SET credit_balance = credit_balance + $2 WHERE person_id = $1 RETURNING credit_balance",
        person_id, amount,
    )


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
