"""Money (CNY) and rates as ``Decimal``, never ``float``.

Amounts carry exactly two places and are rounded half-up at the end of each line
(base × rate for one month of one programme); a bill is the sum of its lines. On the
wire both money and rates are decimal strings ("1234.50", "0.0005").

What arrives from outside (an HTTP body, an event) is read strictly, exactly as the published
schema says: a JSON string of ASCII digits with at most two decimals (money) and at most
``MONEY_DIGITS`` digits before the point (what the ``numeric(14,2)`` columns hold) — no
exponent, no spaces, no full-width digits, no JSON number. Code builds models from ``Decimal``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer, ValidatorFunctionWrapHandler, WithJsonSchema, WrapValidator
from pydantic_core import PydanticCustomError

CENT = Decimal("0.01")

MONEY_DIGITS = 12
"""Digits before the point: a ``numeric(14,2)`` column holds up to 999,999,999,999.99."""
MONEY_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
NON_NEGATIVE_MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
RATE_PATTERN = r"^[0-9](\.[0-9]{1,8})?$"
_DECIMAL_TEXT = re.compile(r"-?(?P<units>[0-9]+)(?:\.(?P<places>[0-9]+))?")


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


def _decimal_text(kind: str, example: str, *, max_places: int, max_digits: int, signed: bool = True):
    """A before-validator: a ``Decimal`` from code passes; from outside only a plain decimal string
    of ASCII digits with at most ``max_digits`` before the point and ``max_places`` after it, and a
    minus sign only where ``signed`` (so that "-0" is no more accepted than the pattern says)."""

    def check(value: object) -> object:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            raise PydanticCustomError("decimal_not_string", "must be a decimal string like {example}, not a {type}",
                                      {"example": example, "type": type(value).__name__})
        if not signed and value.startswith("-"):
            raise PydanticCustomError("money_negative", "must not be negative, got {value}", {"value": value})
        match = _DECIMAL_TEXT.fullmatch(value)
        if match is None:
            raise PydanticCustomError(
                "decimal_text", "must be a decimal string like {example} (ASCII digits, no exponent, no spaces)",
                {"example": example})
        if len(match["units"]) > max_digits:
            raise PydanticCustomError("decimal_digits", "{kind} has at most {digits} digits before the point",
                                      {"kind": kind, "digits": max_digits})
        if len(match["places"] or "") > max_places:
            raise PydanticCustomError("decimal_places", "{kind} has at most {places} decimal places, got {value}",
                                      {"kind": kind, "places": max_places, "value": value})
        return value

    return check


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("decimal_finite", "must be a finite number")
    return value


def _money_validator(*, signed: bool):
    """One wrap-validator for a money field: the text check for what comes from outside, then
    finite, at most two places (never rounded), the sign, and exactly two places out. A ``Decimal``
    from code skips pydantic's own decimal parsing; one Python call a field, not four (the billing
    run validates hundreds of thousands of bills)."""
    text = _decimal_text("money", '"1234.50"', max_places=2, max_digits=MONEY_DIGITS, signed=signed)

    def validate(value: object, to_decimal: ValidatorFunctionWrapHandler) -> Decimal:
        number = _finite(value if isinstance(value, Decimal) else to_decimal(text(value)))
        cents = _cents(number)
        if cents != number:
            raise PydanticCustomError("money_places", "money has at most two decimal places, got {value}",
                                      {"value": str(number)})
        if not signed and cents < 0:
            raise PydanticCustomError("money_negative", "must not be negative, got {value}", {"value": str(cents)})
        return cents

    return validate


_rate_text = _decimal_text("a rate", '"0.0005"', max_places=8, max_digits=1, signed=False)


def _rate_validator(value: object, to_decimal: ValidatorFunctionWrapHandler) -> Decimal:
    number = _finite(value if isinstance(value, Decimal) else to_decimal(_rate_text(value)))
    if not 0 <= number <= 1:
        raise PydanticCustomError("rate_range", "a rate lies between 0 and 1, got {value}", {"value": str(number)})
    return number


MoneyField = Annotated[
    Decimal,
    WrapValidator(_money_validator(signed=True)),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"]}),
]
"""CNY amount: a ``Decimal`` from code, from outside a string of ``MONEY_PATTERN``; JSON output "1234.50".

No serializer of its own: the validator leaves every amount with exactly two places, and pydantic
writes a ``Decimal`` in JSON as its ``str()``, which for two places is always plain digits."""

NonNegativeMoney = Annotated[
    Decimal,
    WrapValidator(_money_validator(signed=False)),
    WithJsonSchema({"type": "string", "pattern": NON_NEGATIVE_MONEY_PATTERN, "examples": ["1234.50"]}),
]
"""A ``MoneyField`` that is zero or more."""

Rate = Annotated[
    Decimal,
    WrapValidator(_rate_validator),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["0.20", "0.0005"]}),
]
"""A fraction between 0 and 1 (0.20 is 20%) with as many places as published, JSON "0.0005"."""
