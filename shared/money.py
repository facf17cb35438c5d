"""Money (CNY) and rates as ``Decimal``, never ``float``.

Amounts carry exactly two places and are rounded half-up at the end of each line
(base × rate for one month of one programme); a bill is the sum of its lines. On the
wire both money and rates are decimal strings ("1234.50", "0.0005").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

CENT = Decimal("0.01")

MONEY_PATTERN = r"^-?\d+(\.\d{1,2})?$"
NON_NEGATIVE_MONEY_PATTERN = r"^\d+(\.\d{1,2})?$"
RATE_PATTERN = r"^\d+(\.\d+)?$"


def _as_decimal(value: Decimal | int | str) -> Decimal:
    # bool is an int, and a float has already lost the cents it claims to hold.
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"money must be a Decimal, int or decimal string, not {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"money must be finite, got {value!r}")
    return number


def _cents(number: Decimal) -> Decimal:
    rounded = number.quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def to_money(value: Decimal | int | str) -> Decimal:
    """Return ``value`` as CNY with two places, rounded half-up.

    Raises ``TypeError`` for floats (and anything that is not Decimal, int or str) and
    ``ValueError`` for text that is not a number or for NaN and infinities.
    """
    return _cents(_as_decimal(value))


def round_line(base: Decimal | int | str, rate: Decimal | int | str) -> Decimal:
    """The amount of one line: ``base × rate`` rounded half-up to the cent.

    This is the rule for one month of one programme, e.g. 7162 × 0.20 = 1432.40.
    """
    return _cents(_as_decimal(base) * _as_decimal(rate))


def _no_float(value: object) -> object:
    if isinstance(value, (bool, float)):
        raise PydanticCustomError(
            "decimal_not_float",
            "must be a decimal string or an integer, not a {kind} ({value})",
            {"kind": type(value).__name__, "value": repr(value)},
        )
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("decimal_finite", "must be a finite number")
    return value


def _two_places(value: Decimal) -> Decimal:
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise PydanticCustomError(
            "money_places",
            "money has at most two decimal places, got {value}",
            {"value": str(value)},
        )
    return _cents(value)


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("money_negative", "must not be negative, got {value}", {"value": str(value)})
    return value


def _rate_range(value: Decimal) -> Decimal:
    if not 0 <= value <= 1:
        raise PydanticCustomError("rate_range", "a rate lies between 0 and 1, got {value}", {"value": str(value)})
    return value


MoneyField = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    AfterValidator(_finite),
    AfterValidator(_two_places),
    PlainSerializer(lambda value: str(_cents(value)), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"]}),
]
"""CNY amount: input as str/int/Decimal with at most two places, JSON output "1234.50"."""

NonNegativeMoney = Annotated[
    MoneyField,
    AfterValidator(_non_negative),
    WithJsonSchema({"type": "string", "pattern": NON_NEGATIVE_MONEY_PATTERN, "examples": ["1234.50"]}),
]
"""A ``MoneyField`` that is zero or more."""

Rate = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    AfterValidator(_finite),
    AfterValidator(_rate_range),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["0.20", "0.0005"]}),
]
"""A fraction between 0 and 1 (0.20 is 20%) with as many places as published, JSON "0.0005"."""
