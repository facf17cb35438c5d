"""The published policies of DOMAIN.md as domain objects, for tests that speak the trade."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from services.billing.domain.policy import Policy

JULY_2025 = date(2025, 7, 1)
ALL_FREQUENCIES = ("monthly", "quarterly", "half_yearly", "annual")


def beijing_pension(**changes) -> Policy:
    policy = Policy(
        region="110000", programme="pension", effective_from=JULY_2025, frequencies=ALL_FREQUENCIES,
        due_day=15, grace_days=0, late_fee_daily_rate=Decimal("0.0005"), back_payment_allowed=True,
        base_floor=Decimal("7162"), base_ceiling=Decimal("35811"), rate=Decimal("0.20"),
        personal_account_rate=Decimal("0.08"),
    )
    return replace(policy, **changes)


def beijing_medical(**changes) -> Policy:
    policy = Policy(
        region="110000", programme="medical_employee", effective_from=JULY_2025, frequencies=ALL_FREQUENCIES,
        due_day=15, grace_days=0, late_fee_daily_rate=Decimal("0.0005"), back_payment_allowed=True,
        flat_amount=Decimal("584.92"), flat_period="month",
    )
    return replace(policy, **changes)


def beijing_unemployment(**changes) -> Policy:
    return beijing_pension(programme="unemployment", rate=Decimal("0.01"), personal_account_rate=None, **changes)


def shanghai_pension(**changes) -> Policy:
    policy = beijing_pension(
        region="310000", frequencies=("monthly",), base_floor=Decimal("7460"), base_ceiling=Decimal("37302"),
        back_payment_allowed=False, back_payment_limit_days=90,
    )
    return replace(policy, **changes)


def shanghai_medical(**changes) -> Policy:
    return shanghai_pension(programme="medical_employee", rate=Decimal("0.11"), personal_account_rate=None,
                            **changes)
