"""Test builders that speak the domain: resident ID numbers, forms and policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.enrollment.domain.eligibility import ApplicationForm
from services.enrollment.domain.policy import Policy
from shared.resident_id import check_character

BEIJING = "110000"
SHANGHAI = "310000"
ALL_FREQUENCIES = ("monthly", "quarterly", "half_yearly", "annual")


def an_id_number(birth: date = date(1990, 5, 17), sex: str = "male", *, sequence: int | None = None,
                 region_code: str = "110105") -> str:
    """A valid resident ID number for someone born on ``birth`` of ``sex``."""
    if sequence is None:
        sequence = 101 if sex == "male" else 102
    first17 = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def with_wrong_check_digit(number: str) -> str:
    right = number[-1]
    return number[:-1] + ("0" if right != "0" else "1")


def beijing_policies(effective_from: date = date(2025, 7, 1)) -> dict[str, Policy]:
    """Beijing from 2025-07-01 (DOMAIN.md): pension and unemployment on 7162–35811, medical flat."""
    return {
        "pension": a_policy("pension", "7162", "35811", effective_from=effective_from),
        "unemployment": a_policy("unemployment", "7162", "35811", effective_from=effective_from),
        "medical_employee": a_policy("medical_employee", None, None, effective_from=effective_from),
    }


def shanghai_policies(effective_from: date = date(2025, 7, 1)) -> dict[str, Policy]:
    """Shanghai from 2025-07-01: pension and medical on 7460–37302, monthly only."""
    return {
        programme: a_policy(programme, "7460", "37302", region=SHANGHAI, frequencies=("monthly",),
                            effective_from=effective_from)
        for programme in ("pension", "medical_employee")
    }


def a_policy(programme: str, floor: str | None, ceiling: str | None, *, region: str = BEIJING,
             frequencies: tuple[str, ...] = ALL_FREQUENCIES, effective_from: date = date(2025, 7, 1)) -> Policy:
    return Policy(
        region=region, programme=programme, effective_from=effective_from,
        base_floor=Decimal(floor) if floor else None, base_ceiling=Decimal(ceiling) if ceiling else None,
        frequencies=frequencies,
    )


def a_form(**changes) -> ApplicationForm:
    """A valid application of a man born 1990 for pension and medical in Beijing at the floor."""
    values = dict(
        id_number=an_id_number(), name="张伟", region=BEIJING, programmes=("pension", "medical_employee"),
        declared_base=Decimal("7162"), frequency="monthly",
    )
    values.update(changes)
    return ApplicationForm(**values)
