"""Resident ID numbers (GB 11643-1999): parsing and validation.

An 18-character number is: 6-digit region code (GB/T 2260), 8-digit birth date
``YYYYMMDD``, 3-digit sequence (odd = male, even = female) and a check character
computed from the first 17 digits. The ID number is also the social security number.

Region codes: only the two-digit province-level prefix is checked against the
GB/T 2260 list. The full six-digit code is not checked against a county table,
because codes are retired and renumbered over time and numbers issued under old
codes stay valid for life (e.g. ``440524`` no longer exists but its holders do).

Birth dates: a real calendar date, not before :data:`EARLIEST_BIRTH_DATE`
(1850-01-01, so that old valid examples such as ``440524188001010014`` parse) and
not after today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from shared.periods import business_date, now_utc

__all__ = [
    "CHECK_WEIGHTS",
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",
    "InvalidResidentId",
    "ResidentId",
    "check_character",
    "parse_resident_id",
]

CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

EARLIEST_BIRTH_DATE = date(1850, 1, 1)


def _codes(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(f"{n:02d}" for lo, hi in ranges for n in range(lo, hi + 1))


#: Province-level prefixes of GB/T 2260.
PROVINCE_CODES: frozenset[str] = _codes(
    (11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82)
)

_FORMAT = re.compile(r"[0-9]{17}[0-9X]")
_SURROUNDING_SPACE = " \t\r\n"
RESIDENT_ID_PATTERN = r"^[ \t\r\n]*[0-9]{17}[0-9Xx][ \t\r\n]*$"
"""What an API publishes for an ID number field: exactly what :func:`parse_resident_id` reads as
well-formed (ASCII digits, ``x`` in either case, ASCII white space around it)."""

Rule = Literal["format", "region_code", "birth_date", "check_digit"]


class InvalidResidentId(ValueError):
    """A resident ID number that fails one validation rule.

    ``rule`` names the first failed rule ("format", "region_code", "birth_date",
    "check_digit"); ``message`` is a human-readable English explanation.
    """

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule: Rule = rule
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidResidentId(rule={self.rule!r}, message={self.message!r})"


def check_character(first17: str) -> str:
    """Return the GB 11643-1999 check character ("0"-"9" or "X") for 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected exactly 17 ASCII digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, CHECK_WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class ResidentId:
    """A validated resident ID number and the facts encoded in it.

    ``sex`` is derived from ``sequence``: "male" if odd, "female" if even.
    """

    number: str
    region_code: str
    birth_date: date
    sequence: int
    sex: Literal["male", "female"] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sex", "male" if self.sequence % 2 else "female")

    def __str__(self) -> str:
        return self.number

    def age_on(self, day: date) -> int:
        """Return the age in full years on ``day``.

        A person born on 29 February has their birthday on 1 March in non-leap
        years (so they are still the younger age on 28 February). Raises
        ``ValueError`` if ``day`` is before the birth date.
        """
        born = self.birth_date
        if day < born:
            raise ValueError(f"{day} is before the birth date {born}")
        had_birthday = (day.month, day.day) >= (born.month, born.day)
        return day.year - born.year - (0 if had_birthday else 1)


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Parse and validate an 18-character resident ID number.

    Surrounding ASCII white space is stripped and a lowercase ``x`` is accepted. Rules
    are checked in order: format, region_code, birth_date, check_digit; the first
    failure raises :class:`InvalidResidentId`. ``today`` (default: today's
    business date in Asia/Shanghai) bounds the birth date from above.
    """
    number = _check_format(text)
    _check_region(number[:6])
    birth = _check_birth_date(number[6:14], today or business_date(now_utc()))
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidResidentId(
            "check_digit",
            f"check character is {number[17]!r} but the first 17 digits give {expected!r}",
        )
    return ResidentId(
        number=number, region_code=number[:6], birth_date=birth, sequence=int(number[14:17])
    )


def _check_format(text: str) -> str:
    if not isinstance(text, str):
        raise InvalidResidentId("format", f"expected a string, got {type(text).__name__}")
    number = text.strip(_SURROUNDING_SPACE).upper()
    if not _FORMAT.fullmatch(number):
        raise InvalidResidentId(
            "format", "a resident ID number is 17 digits followed by a digit or X"
        )
    return number


def _check_region(region: str) -> None:
    if region[:2] not in PROVINCE_CODES:
        raise InvalidResidentId(
            "region_code", f"region code {region} does not start with a province code"
        )


def _check_birth_date(digits: str, today: date) -> date:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise InvalidResidentId("birth_date", f"{digits} is not a calendar date") from None
    if birth < EARLIEST_BIRTH_DATE:
        raise InvalidResidentId(
            "birth_date", f"birth date {birth} is before {EARLIEST_BIRTH_DATE}"
        )
    if birth > today:
        raise InvalidResidentId("birth_date", f"birth date {birth} is in the future")
    return birth
