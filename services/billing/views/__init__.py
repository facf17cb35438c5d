"""What the routes answer: policies, bills, statements and vouchers shaped as JSON (money as
"1234.50" strings, rates as plain decimals). Rendering only: the operations read and compute."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from services.billing.domain.pension import PensionEstimate
from services.billing.domain.policy import Policy
from services.billing.domain.voucher import ALGORITHM, VoucherKeys
from services.billing.operations.lookups import PersonBill, Statement, StoredVoucher
from services.billing.operations.pension import Estimates, PublishedFigure
from services.billing.repository.certificates import StoredCertificate


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


def statement(s: Statement) -> dict[str, Any]:
    return {
        "person_id": str(s.person_id), "region": s.region, "as_of": s.as_of.isoformat(),
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


def pension_estimate(e: Estimates) -> dict[str, Any]:
    request, age = e.request, e.retirement_age_months
    return {
        "person_id": str(request.person_id), "region": e.region, "as_of": request.today.isoformat(),
        "birth_month": str(request.birth_month), "retirement_category": request.category,
        "retirement_month": str(e.retirement_month),
        "retirement_age": {"years": age // 12, "months": age % 12},
        "months_paid": e.months_paid,
        "assumptions": {
            "wage_growth": _rate(request.assumptions.wage_growth), "interest": _rate(request.assumptions.interest),
            "paying_on": e.paying_on,
            "text": ("paying on at one base every month from now to the month before retirement"
                     if e.paying_on else "nothing more is paid (the pension enrolment has ended)")
                    + "; average wages not yet published grow by wage_growth a year; account interest not yet"
                      " published is credited at interest; the year of retirement earns no interest",
        },
        "estimate": _pension(e.at_current_base), "at_floor": _pension(e.at_floor), "at_ceiling": _pension(e.at_ceiling),
    }


def _pension(p: PensionEstimate) -> dict[str, Any]:
    return {
        "future_base": _money(p.future_base), "future_months": p.future_months,
        "contribution_months": p.contribution_months,
        "contribution_years": str((Decimal(p.contribution_months) / 12).quantize(Decimal("0.01"))),
        "average_index": str(p.average_index), "average_wage_at_retirement": _money(p.average_wage_at_retirement),
        "basic_part": _money(p.basic_part), "account_balance": _money(p.account_balance),
        "months_divisor": p.months_divisor, "personal_account_part": _money(p.personal_account_part),
        "monthly_pension": _money(p.monthly_pension),
        "minimum_months": p.minimum_months, "months_missing": p.months_missing, "years_missing": str(p.years_missing),
        "average_wages_used": {str(year): _money(wage) for year, wage in p.wages_used.items()},
    }


def certificate(stored: StoredCertificate) -> dict[str, Any]:
    no = stored.certificate_no
    return {
        "certificate_no": no, "certificate_id": str(stored.certificate_id), "document": stored.document,
        "signature": stored.signature, "algorithm": stored.algorithm, "key_id": stored.key_id,
        "verify_url": stored.document.get("verify_url"), "pdf": f"/v1/certificates/{no}/pdf",
    }


def certificate_verification(stored: StoredCertificate, valid: bool) -> dict[str, Any]:
    """What anyone holding the number learns: whether it is ours and unaltered, and what it says."""
    return {"certificate_no": stored.certificate_no, "valid": valid, "algorithm": stored.algorithm,
            "key_id": stored.key_id, "document": stored.document, "signature": stored.signature}


def pension_figures(region: str, on: Any, wages: dict[int, Decimal], rates: dict[int, Decimal]) -> dict[str, Any]:
    years = sorted(set(wages) | set(rates))
    return {"region": region, "on": on.isoformat(), "figures": [
        {"year": year, "average_wage": _money(wages.get(year)), "account_interest_rate": _rate(rates.get(year))}
        for year in years]}


def pension_figure(f: PublishedFigure) -> dict[str, Any]:
    return {"region": f.region, "year": f.year, "effective_from": f.effective_from.isoformat(),
            "average_wage": _money(f.average_wage), "account_interest_rate": _rate(f.interest_rate)}
