"""What the routes answer: policies, bills, statements and vouchers shaped as JSON (money as
"1234.50" strings, rates as plain decimals). Rendering only: the operations read and compute."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from services.billing.domain.policy import Policy
from services.billing.domain.voucher import ALGORITHM, VoucherKeys
from services.billing.operations.lookups import PersonBill, Statement, StoredVoucher


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def policy(p: Policy) -> dict[str, Any]:
    return {
        "region": p.region, "programme": p.programme, "effective_from": p.effective_from.isoformat(),
        "base_floor": _money(p.base_floor), "base_ceiling": _money(p.base_ceiling), "rate": _rate(p.rate),
        "personal_account_rate": _rate(p.personal_account_rate), "flat_amount": _money(p.flat_amount),
        "flat_period": p.flat_period, "frequencies": list(p.frequencies), "due_day": p.due_day,
        "grace_days": p.grace_days, "late_fee_daily_rate": _rate(p.late_fee_daily_rate),
        "back_payment_allowed": p.back_payment_allowed, "back_payment_limit_days": p.back_payment_limit_days,
    }


def bill(b: PersonBill) -> dict[str, Any]:
    row = b.stored
    return {
        "bill_id": str(row["bill_id"]), "region": row["region"], "first_month": row["first_month"].strftime("%Y-%m"),
        "months": row["months"], "programmes": row["programmes"], "lines": row["lines"],
        "total": _money(row["principal"]), "paid": _money(row["principal_paid"]),
        "credit_applied": _money(row["credit_applied"]),
        "outstanding": _money(b.outstanding), "late_fee_to_date": _money(b.late_fee_to_date),
        "late_fee_paid": _money(row["late_fee_paid"]), "due_date": row["due_date"].isoformat(),
        "status": row["status"], "overdue_level": row["overdue_level"], "issued_on": row["issued_on"].isoformat(),
        "settled_at": row["settled_at"].isoformat() if row["settled_at"] else None,
    }


def statement(s: Statement, region: str) -> dict[str, Any]:
    return {
        "person_id": str(s.person_id), "region": region, "as_of": s.as_of.isoformat(),
        "programmes": [
            {"programme": r.programme, "months_paid": r.months_paid, "months_missed": r.months_missed,
             "months_due": r.months_due, "contribution_months": r.contribution_months,
             "contribution_years": str(r.contribution_years), "total_paid": _money(r.total_paid)}
            for r in s.programmes
        ],
        "total_contribution_years": str(s.total_contribution_years),
        "pension_personal_account": _money(s.pension_personal_account),
        "late_fees_paid": _money(s.late_fees_paid),
        "credit_balance": _money(s.credit_balance),
        "refunds": s.refunds,
        "refunded_total": _money(sum((Decimal(r["amount"]) for r in s.refunds), Decimal("0.00"))),
        "links": statement_links(s.person_id),
        "enrolments": [
            {**row, "enrollment_id": str(row["enrollment_id"]), "base": _money(row["base"]),
             "waiting_until": row["waiting_until"].isoformat() if row["waiting_until"] else None}
            for row in s.enrolments
        ],
    }


def statement_links(person_id: uuid.UUID) -> dict[str, str]:
    """Where the statement's reader goes next: the pension estimate, refunds, certificates."""
    base = f"/v1/persons/{person_id}"
    return {"pension_estimate": f"{base}/pension-estimate", "refunds": f"{base}/refunds",
            "certificates": f"{base}/certificates", "vouchers": f"{base}/vouchers"}


def voucher(stored: StoredVoucher, public_key: str | None) -> dict[str, Any]:
    return {
        "voucher_no": stored.voucher_no, "document": stored.document, "signature": stored.signature,
        "algorithm": stored.algorithm, "key_id": stored.key_id, "public_key": public_key,
    }


def vouchers(person_id: uuid.UUID, stored: list[StoredVoucher]) -> dict[str, Any]:
    return {"person_id": str(person_id), "vouchers": [
        {"voucher_no": v.voucher_no, "document": v.document, "signature": v.signature, "algorithm": v.algorithm,
         "key_id": v.key_id}
        for v in stored
    ]}


def voucher_keys(keys: VoucherKeys) -> dict[str, Any]:
    """The signing key at the top (as before rotation existed), every verifying key in ``keys``."""
    signer = keys.signer
    return {
        "algorithm": ALGORITHM, "key_id": signer.key_id, "public_key": signer.public_key_b64,
        "keys": [{"key_id": key_id, "public_key": public_key, "signs": key_id == signer.key_id}
                 for key_id, public_key in keys.public_keys().items()],
    }


def verification(voucher_no: Any, valid: bool, *, key_id: str, algorithm: str = ALGORITHM) -> dict[str, Any]:
    return {"voucher_no": voucher_no, "valid": valid, "algorithm": algorithm, "key_id": key_id}
